/** The servers' logging: silent by default, one line per event on stderr when verbose. */

/** Where servers report what they do. */
export interface Logger {
  /** Routine events (connections, commands, client mistakes): shown only when verbose. */
  info(message: string): void;
  /** Faults of the server itself: always shown, one line, no stack trace. */
  error(message: string): void;
}

/** A logger writing to stderr; `verbose` turns on the info lines. */
export function createLogger(verbose = false): Logger {
  return {
    info: verbose ? (message) => process.stderr.write(`eric-bus: ${message}\n`) : () => {},
    error: (message) => process.stderr.write(`eric-bus: error: ${message}\n`),
  };
}

/** A logger that says nothing at all. */
export const silentLogger: Logger = { info() {}, error() {} };
