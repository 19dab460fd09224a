/** The servers' logging: silent by default, one line per event on stderr when verbose. */
import { inspect } from 'node:util';
import type { Logger } from '../src/log.js';

/**
 * Where servers report what they do: the library's {@link Logger} with `info` required. `info` is
 * for routine events (connections, commands, client mistakes), shown only when verbose; `warn` and
 * `error` (faults of the server itself) are always shown, one line, no stack trace. The library's
 * `silentLogger` is one.
 */
export type ServerLogger = Required<Logger>;

/** A logger writing to stderr; `verbose` turns on the info lines. */
export function createLogger(verbose = false): ServerLogger {
  return {
    info: verbose ? (message, ...details) => write('', message, details) : () => {},
    warn: (message, ...details) => write('warning: ', message, details),
    error: (message, ...details) => write('error: ', message, details),
  };
}

/** One line on stderr: the message, then each detail (an error by its name and message). */
function write(prefix: string, message: string, details: unknown[]): void {
  const parts = details.map((d) => (d instanceof Error ? String(d) : inspect(d, { breakLength: Infinity })));
  process.stderr.write(`eric-bus: ${prefix}${[message, ...parts].join(' ')}\n`);
}
