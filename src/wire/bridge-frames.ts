/**
 * The bridge's frame envelope (SPEC §5, a fixed public wire format). Every frame is one JSON
 * text message. Client → bridge: a socket command plus a request id, or a cancel. Bridge →
 * client: `ok`, `error`, or `data` … `end` for streams, each carrying the request's id.
 */
import type { SSEEvent } from '../bus/sse.js';

/** A request id: chosen by the client, echoed in every reply frame. */
export type FrameId = number | string;

/** The one verb that is the bridge's own: stops the stream with the frame's id. */
export const CANCEL_VERB = 'cancel';

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
}
/** Any frame the bridge sends. */
export type ReplyFrame = OkFrame | ErrorFrame | DataFrame | EndFrame;

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
  if ('error' in frame) return typeof frame.error === 'string' && (id === null || isFrameId(id)) ? (frame as ErrorFrame) : undefined;
  if (!isFrameId(id)) return undefined;
  if ('ok' in frame) return typeof frame.ok === 'string' ? (frame as OkFrame) : undefined;
  if ('data' in frame) return typeof frame.data === 'object' && frame.data !== null ? (frame as DataFrame) : undefined;
  if ('end' in frame) return frame.end === true ? (frame as EndFrame) : undefined;
  return undefined;
}
