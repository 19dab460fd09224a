/** The bridge's side of the frame envelope (SPEC §5): reading client frames, writing replies. */
import { CANCEL_VERB, isFrameId, type FrameId } from '../../src/wire/bridge-frames.js';
import { formatException, InvalidMessageFormat } from '../../src/index.js';
import { isVerb, type Command, type Verb } from '../../src/remote/protocol-client.js';
import type { LineBatch } from './backend-call.js';

/** A client frame, read. */
export type ClientFrame =
  | { kind: 'command'; id: FrameId; verb: Verb; command: Command }
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
  return { kind: 'command', id, verb, command: command as Command };
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

/**
 * The `data` frames of a stream, `{"id": …, "data": <line>}`, built around lines that are
 * already JSON objects by copying bytes: no parse, no stringify, no text decoding per event.
 */
export function dataFramePrefix(id: FrameId): Buffer {
  return Buffer.from(`{"id":${JSON.stringify(id)},"data":`);
}

const FIN_TEXT = 0x81;
const CLOSE_BRACE = 0x7d;

/**
 * Encodes one unmasked WebSocket text frame (RFC 6455 §5.2, server to client) per line, each
 * carrying `prefix + line + "}"`, all in one buffer: a chunk of events becomes one socket
 * write instead of two writes per event.
 */
export function encodeDataFrames(prefix: Buffer, { sources, starts, ends }: LineBatch): Buffer {
  const count = starts.length;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const length = prefix.length + ends[i]! - starts[i]! + 1;
    total += length + (length < 126 ? 2 : length < 65536 ? 4 : 10);
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const start = starts[i]!;
    const end = ends[i]!;
    const length = prefix.length + end - start + 1;
    out[at++] = FIN_TEXT;
    if (length < 126) out[at++] = length;
    else if (length < 65536) {
      out[at++] = 126;
      out.writeUInt16BE(length, at);
      at += 2;
    } else {
      out[at++] = 127;
      out.writeBigUInt64BE(BigInt(length), at);
      at += 8;
    }
    out.set(prefix, at);
    at += prefix.length;
    out.set(sources[i]!.subarray(start, end), at);
    at += end - start;
    out[at++] = CLOSE_BRACE;
  }
  return out;
}

/** True when `buffer[start..end)` looks like a JSON object (the server's events); anything else is an error reply. */
export function isJsonObjectLine(buffer: Buffer, start: number, end: number): boolean {
  return end - start >= 2 && buffer[start] === 0x7b && buffer[end - 1] === CLOSE_BRACE;
}
