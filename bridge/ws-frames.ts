/** The bridge's side of the frame envelope (SPEC §5): reading client frames, writing replies. */
import { CANCEL_VERB, isFrameId, isVerb, type FrameId } from '../src/bridge-frames.js';
import { formatException, InvalidMessageFormat } from '../src/index.js';
import type { Command, Verb } from '../src/protocol-client.js';

/** A client frame, read. */
export type ClientFrame =
  | { kind: 'command'; id: FrameId; verb: Verb; command: string }
  | { kind: 'cancel'; id: FrameId }
  | { kind: 'invalid'; id: FrameId | null; error: string };

const COMMAND_KEYS = ['v', 'c', 'r', 't', 'p'] as const;

/**
 * Reads one client frame. A frame that is not a JSON object with a usable `id` is `invalid`
 * with id null; one with an id but no known verb is `invalid` with that id. The socket
 * command is the frame's protocol keys (`v c r t p`) only: the rest stays at the bridge.
 */
export function parseClientFrame(text: string): ClientFrame {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch (error) {
    return invalid(null, `Frame is not JSON: ${(error as Error).message}`);
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return invalid(null, 'Frame is not a JSON object');
  const fields = frame as Record<string, unknown>;
  if (!('id' in fields)) return invalid(null, "Frame has no 'id'");
  const { id } = fields;
  if (!isFrameId(id)) return invalid(null, "Frame 'id' must be a number or a string");
  const verb = fields.v;
  if (verb === CANCEL_VERB) return { kind: 'cancel', id };
  if (!isVerb(verb)) {
    return invalid(id, verb === undefined ? "Missing verb 'v'" : `Unknown verb ${JSON.stringify(verb)}`);
  }
  const command: Partial<Record<(typeof COMMAND_KEYS)[number], unknown>> = {};
  for (const key of COMMAND_KEYS) if (fields[key] !== undefined) command[key] = fields[key];
  return { kind: 'command', id, verb, command: JSON.stringify(command as Command) };
}

function invalid(id: FrameId | null, detail: string): ClientFrame {
  return { kind: 'invalid', id, error: formatException(new InvalidMessageFormat(detail)) };
}

/** `{"id": …, "ok": …}` */
export function okFrame(id: FrameId, reply: string): string {
  return JSON.stringify({ id, ok: reply });
}

/** `{"id": …, "error": …}` */
export function errorFrame(id: FrameId | null, error: string): string {
  return JSON.stringify({ id, error });
}

/** `{"id": …, "end": true}` */
export function endFrame(id: FrameId): string {
  return JSON.stringify({ id, end: true });
}

const DATA_SUFFIX = Buffer.from('}');

/**
 * Builds `{"id": …, "data": <line>}` around a stream line that is already a JSON object, by
 * concatenating bytes: no parse, no stringify, no text decoding per event.
 */
export function dataFrameBuilder(id: FrameId): (line: Buffer) => Buffer {
  const prefix = Buffer.from(`{"id":${JSON.stringify(id)},"data":`);
  return (line) => Buffer.concat([prefix, line, DATA_SUFFIX], prefix.length + line.length + 1);
}

/** True when a stream line looks like a JSON object (the server's events); anything else is an error reply. */
export function isJsonObjectLine(line: Buffer): boolean {
  return line.length >= 2 && line[0] === 0x7b && line[line.length - 1] === 0x7d;
}
