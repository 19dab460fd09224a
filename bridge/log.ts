/** The servers' logging: silent by default, one line per event on stderr when verbose, as text or JSON. */
import { inspect } from 'node:util';
import type { Logger } from '../src/log.js';

/**
 * Where servers report what they do: the library's {@link Logger} with `info` required. `info` is
 * for routine events (connections, commands, client mistakes), shown only when verbose; `warn` and
 * `error` (faults of the server itself) are always shown, one line, no stack trace. The library's
 * `silentLogger` is one.
 */
export type ServerLogger = Required<Logger>;

/** How log lines are written: text for people, one JSON object per line for a log collector. */
export type LogFormat = 'text' | 'json';

/** The log formats, as `--log-format` takes them. */
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/**
 * What a log line is about, given as a detail of a log call (`logger.info('command d', fields({ verb: 'd' }))`):
 * JSON lines carry its keys, text lines leave it out (their message says it already).
 */
export class LogFields {
  constructor(
    /** The client's connection (`127.0.0.1:5123`), the command's verb, its channel. */
    readonly fields: { connection?: string; verb?: string; channel?: string },
  ) {}
}

/** The {@link LogFields} of a log line. */
export function fields(values: LogFields['fields']): LogFields {
  return new LogFields(values);
}

/** A logger writing to stderr; `verbose` turns on the info lines; `format` is text (default) or JSON. */
export function createLogger(verbose = false, format: LogFormat = 'text'): ServerLogger {
  const write = format === 'json' ? writeJson : writeText;
  return {
    info: verbose ? (message, ...details) => write('info', message, details) : () => {},
    warn: (message, ...details) => write('warn', message, details),
    error: (message, ...details) => write('error', message, details),
  };
}

type Level = 'info' | 'warn' | 'error';

const TEXT_PREFIX: Record<Level, string> = { info: '', warn: 'warning: ', error: 'error: ' };

/** One line on stderr: the message, then each detail (an error by its name and message). */
function writeText(level: Level, message: string, details: unknown[]): void {
  const parts = details.filter((d) => !(d instanceof LogFields)).map(detailText);
  process.stderr.write(`eric-bus: ${TEXT_PREFIX[level]}${[message, ...parts].join(' ')}\n`);
}

/** One JSON object on one line of stderr: time, level, msg, and the fields the call gave. */
function writeJson(level: Level, message: string, details: unknown[]): void {
  const line: Record<string, string> = { time: new Date().toISOString(), level, msg: message };
  const parts: string[] = [];
  for (const detail of details) {
    if (detail instanceof LogFields) {
      for (const [key, value] of Object.entries(detail.fields)) if (value !== undefined) line[key] = value;
    } else parts.push(detailText(detail));
  }
  if (parts.length > 0) line.msg = [message, ...parts].join(' ');
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

function detailText(detail: unknown): string {
  return detail instanceof Error ? String(detail) : inspect(detail, { breakLength: Infinity });
}
