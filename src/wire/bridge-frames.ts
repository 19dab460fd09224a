/**
 * The bridge's frame envelope (docs/protocol.md, "The bridge's frames"; a fixed public wire
 * format), both halves: the browser client writes command frames and reads replies, the Node bridge
 * the other way round. Every frame is one JSON text message. Client → bridge: a socket command plus
 * a request id, or a cancel. Bridge → client: `ok`, `error`, or `data` … `end` for streams, each
 * carrying the id.
 */

import { formatException, InvalidMessageFormat } from '../errors.js';
import type { SSEEvent } from './event-stream.js';
import { nestsDeeperThan } from './json-depth.js';
import { topLevelValue } from './json-scan.js';
import { isVerb, tooDeep, type Verb } from './socket-protocol.js';

/** A request id: chosen by the client, echoed in every reply frame. */
export type FrameId = number | string;

/** The bridge's own verb that stops the stream with the frame's id. */
export const CANCEL_VERB = 'cancel';

/**
 * The bridge's own verb that lets the stream with the frame's id send `credit` more events:
 * `{"id": 7, "v": "credit", "credit": 128}`. A stream frame that carries `credit` (its window)
 * gets at most that many `data` frames before the client grants more; the bridge holds the rest
 * back, and the server keeps them queued. Without `credit`, a stream is not limited.
 */
export const CREDIT_VERB = 'credit';

/**
 * The bridge's own verb that hands it a fresh signed token on an open WebSocket:
 * `{"id": 7, "v": "auth", "token": "…"}`, answered `{"id": 7, "ok": "auth"}`
 * (docs/security.md, "Refreshing a token").
 */
export const AUTH_VERB = 'auth';

/** The close code of a WebSocket whose signed token expired (docs/security.md, "Refreshing a token"). */
export const TOKEN_EXPIRED_CLOSE = 4401;

/** The bridge's plain reply: `{"id": 7, "ok": "ack"}`. */
export interface OkFrame {
  id: FrameId;
  ok: string;
}
/** An error reply; `id` is null when the frame it answers had no usable id. */
export interface ErrorFrame {
  id: FrameId | null;
  error: string;
}
/** One event of a stream. */
export interface DataFrame {
  id: FrameId;
  data: SSEEvent;
}
/** The end of a stream. */
export interface EndFrame {
  id: FrameId;
  end: true;
  /** The bridge is draining: the stream did not end, the client resumes it on another bridge. */
  reconnect?: true;
}
/** Any frame the bridge sends. */
export type ReplyFrame = OkFrame | ErrorFrame | DataFrame | EndFrame;

/** The socket command's keys a frame may carry; anything else in a frame stays at the bridge. */
// `o` (a channel's owner) is the bridge's to set: it replaces or removes a client's (docs/security.md, "Owners").
const COMMAND_KEYS = ['v', 'c', 'r', 't', 'p', 'i', 'n', 'o'] as const;

/** True for a value usable as a frame id. */
export function isFrameId(id: unknown): id is FrameId {
  return (typeof id === 'number' && Number.isFinite(id)) || typeof id === 'string';
}

/** Parses a frame from the bridge; undefined when it is not one of the four shapes. */
export function parseReplyFrame(text: string): ReplyFrame | undefined {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof frame !== 'object' || frame === null || !('id' in frame)) return undefined;
  const { id } = frame;
  if ('error' in frame)
    return typeof frame.error === 'string' && (id === null || isFrameId(id)) ? (frame as ErrorFrame) : undefined;
  if (!isFrameId(id)) return undefined;
  if ('ok' in frame) return typeof frame.ok === 'string' ? (frame as OkFrame) : undefined;
  if ('data' in frame) return typeof frame.data === 'object' && frame.data !== null ? (frame as DataFrame) : undefined;
  if ('end' in frame) return frame.end === true ? (frame as EndFrame) : undefined;
  return undefined;
}

/**
 * A command as the bridge relays it: the frame's protocol keys, unchecked. The bridge is a pure
 * relay (it also fronts eric-sse's Python server), so the socket server judges the rest.
 */
export type RelayedCommand = { v: Verb } & Partial<Record<Exclude<(typeof COMMAND_KEYS)[number], 'v'>, unknown>>;

/** A client frame, read. */
export type ClientFrame =
  | { kind: 'command'; id: FrameId; verb: Verb; command: RelayedCommand; credit?: number }
  | { kind: 'cancel'; id: FrameId }
  | { kind: 'credit'; id: FrameId; credit: number }
  | { kind: 'auth'; id: FrameId; token: string }
  | { kind: 'invalid'; id: FrameId | null; error: string };

/**
 * Reads one client frame. A frame that is not a JSON object with a usable `id` is `invalid`
 * with id null; one with an id but no known verb is `invalid` with that id. The socket
 * command is the frame's protocol keys (`v c r t p i n o`) only: the rest stays at the bridge. A frame
 * nesting deeper than the socket protocol allows is `invalid` before it is parsed (its id is
 * read from its top level alone).
 */
export function parseClientFrame(text: string): ClientFrame {
  if (nestsDeeperThan(text)) {
    const id = topLevelValue(text, 'id');
    return invalid(isFrameId(id) ? id : null, tooDeep('Frame'));
  }
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch (error) {
    return invalid(null, `Frame is not JSON: ${(error as Error).message}`);
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame))
    return invalid(null, 'Frame is not a JSON object');
  const fields = frame as Record<string, unknown>;
  if (!('id' in fields)) return invalid(null, "Frame has no 'id'");
  const { id } = fields;
  if (!isFrameId(id)) return invalid(null, "Frame 'id' must be a number or a string");
  const verb = fields.v;
  if (verb === CANCEL_VERB) return { kind: 'cancel', id };
  if (verb === AUTH_VERB) {
    const { token } = fields;
    return typeof token === 'string' ? { kind: 'auth', id, token } : invalid(id, "Missing 'token' (a string)");
  }
  const credit = fields.credit;
  if (credit !== undefined && !(Number.isSafeInteger(credit) && (credit as number) >= 0))
    return invalid(id, "Frame 'credit' must be a whole number of events, 0 or more");
  if (verb === CREDIT_VERB) {
    return credit === undefined ? invalid(id, "Missing 'credit'") : { kind: 'credit', id, credit: credit as number };
  }
  if (!isVerb(verb)) {
    return invalid(id, verb === undefined ? "Missing verb 'v'" : `Unknown verb ${JSON.stringify(verb)}`);
  }
  const read: ClientFrame = { kind: 'command', id, verb, command: commandKeysOf(fields) as RelayedCommand };
  if (credit !== undefined) read.credit = credit as number;
  return read;
}

/**
 * The socket command's keys of `fields` (`v c r t p i n o`), those that are set: what a frame carries
 * to a socket server. Anything else (a frame's own `id` and `credit`, a stream key `s`) is left out.
 */
export function commandKeysOf(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const command: Record<string, unknown> = {};
  for (const key of COMMAND_KEYS) if (fields[key] !== undefined) command[key] = fields[key];
  return command;
}

function invalid(id: FrameId | null, detail: string): ClientFrame {
  return { kind: 'invalid', id, error: formatException(new InvalidMessageFormat(detail)) };
}

/** A frame's text: its id first, then the members of `body` (a command, or a reply's one member). */
export function frameText(id: FrameId | null, body: object): string {
  return JSON.stringify({ id, ...body });
}

/** `{"id": …, "ok": …}` */
export function okFrame(id: FrameId, reply: string): string {
  return frameText(id, { ok: reply });
}

/** `{"id": …, "error": …}` */
export function errorFrame(id: FrameId | null, error: string): string {
  return frameText(id, { error });
}

/** `{"id": …, "end": true}` */
export function endFrame(id: FrameId): string {
  return frameText(id, { end: true });
}

/** `{"id": …, "end": true, "reconnect": true}`: a draining bridge's end of a stream that goes on elsewhere. */
export function reconnectFrame(id: FrameId): string {
  return frameText(id, { end: true, reconnect: true });
}

/**
 * The start of every `data` frame of a stream, `{"id":…,"data":`: the event's stream line (its
 * JSON object, as the socket server wrote it) and {@link DATA_FRAME_END} follow, so the bridge
 * relays lines into frames without parsing them.
 */
export function dataFramePrefix(id: FrameId): string {
  return `{"id":${JSON.stringify(id)},"data":`;
}

/** What closes a `data` frame after its event. */
export const DATA_FRAME_END = '}';

/** The start of a `data` frame with a numeric id, as {@link dataFramePrefix} writes it. */
const DATA_FRAME_START = /^\{"id":(\d{1,15}),"data":\{/;

/**
 * Reads a `data` frame written as {@link dataFramePrefix} and {@link DATA_FRAME_END} make them,
 * with a numeric id, without parsing the event: its id and the event's text (the stream line, a
 * JSON object). Undefined for any other text, which is then read as JSON.
 */
export function readDataFrame(text: string): { id: number; event: string } | undefined {
  if (!text.endsWith(`}${DATA_FRAME_END}`)) return undefined;
  const start = DATA_FRAME_START.exec(text);
  if (!start) return undefined;
  return { id: Number(start[1]), event: text.slice(start[0].length - 1, -DATA_FRAME_END.length) };
}
