/** The socket protocol's text: parsing a command, formatting replies and stream lines. */
import { EricBusError, formatException, InvalidMessageFormat, isVerb, VERBS, type Command, type SSEEvent, type Verb } from '../index.js';

/** eric-sse's plain success reply. */
export const ACK = 'ack';

const needsReceiver: ReadonlySet<Verb> = new Set(['d', 'l', 'rl']);
const needsType: ReadonlySet<Verb> = new Set(['d', 'b']);

/** Parses and validates one command; throws {@link InvalidMessageFormat} saying what is wrong. */
export function parseCommand(raw: string): Command {
  if (raw.trim() === '') throw new InvalidMessageFormat('Empty command');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new InvalidMessageFormat(`Malformed JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidMessageFormat(`A command is a JSON object, not ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : `a ${typeof parsed}`}`);
  }
  const fields = parsed as Record<string, unknown>;
  const v = fields.v;
  if (v === undefined) throw new InvalidMessageFormat("Missing verb 'v'");
  if (!isVerb(v)) throw new InvalidMessageFormat(`Unknown verb ${JSON.stringify(v)} (expected one of ${VERBS.join(', ')})`);
  const verb = v;
  const command: Command = { v: verb };
  if (verb !== 'c') command.c = requireId(fields, 'c', 'channel id', verb);
  if (needsReceiver.has(verb)) command.r = requireId(fields, 'r', 'receiver id', verb);
  if (needsType.has(verb)) {
    if (typeof fields.t !== 'string') {
      throw new InvalidMessageFormat(fields.t === undefined ? `Missing message type 't' for verb '${verb}'` : `Message type 't' must be a string, not ${JSON.stringify(fields.t)}`);
    }
    command.t = fields.t;
    if (fields.p !== undefined) command.p = fields.p as Command['p'];
  }
  return command;
}

function requireId(fields: Record<string, unknown>, key: 'c' | 'r', what: string, verb: Verb): string {
  const value = fields[key];
  if (typeof value === 'string') return value;
  // eric-sse's ids are strings; a number is accepted as its decimal form, as a shell user would type it.
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  throw new InvalidMessageFormat(`Missing ${what} '${key}' (a string) for verb '${verb}'`);
}

/** The reply for an error: `Name('detail')`; errors that are not eric-bus's are reported without their internals. */
export function formatError(error: unknown): string {
  if (error instanceof EricBusError) return formatException(error);
  return formatException(Object.assign(new Error('Internal server error'), { name: 'Exception' }));
}

/** One stream line: the event as JSON, newline-terminated; a missing payload is `null`, as Python's `None`. */
export function formatEvent(event: SSEEvent): string {
  return JSON.stringify({ event: event.event, retry: event.retry, data: event.data ?? null }) + '\n';
}
