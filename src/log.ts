/**
 * Where the library reports what it must not throw: an action that failed inside a listener, a
 * frame from the bridge it could not read. The console by default, as the seed logs; replace it
 * with {@link setLogger} (`setLogger(silentLogger)` for quiet tests, or an app's own logger).
 */

/** What the library logs through; the Node servers log through it too (`ServerLogger`, with `info`). */
export interface Logger {
  /** Routine events (connections, commands, a client's mistakes): the library logs none; the servers do. */
  info?(message: string, ...details: unknown[]): void;
  /** Something was ignored (an unknown message type, a stray frame). */
  warn(message: string, ...details: unknown[]): void;
  /** Something failed and was contained (an action or `onMessage` that threw). */
  error(message: string, ...details: unknown[]): void;
}

/** A logger that says nothing. */
export const silentLogger: Required<Logger> = { info() {}, warn() {}, error() {} };

let current: Logger = console;

/** Sets the library's logger; returns the previous one, to restore it. */
export function setLogger(logger: Logger): Logger {
  const previous = current;
  current = logger;
  return previous;
}

/** The library's logger now. */
export function log(): Logger {
  return current;
}
