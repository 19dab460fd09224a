/**
 * The bridge's fast path for stream frames: event lines from the socket server become WebSocket
 * `data` frames by copying bytes (no parse, no stringify, no text decoding per event).
 */
import { DATA_FRAME_END, dataFramePrefix, type FrameId } from '../../src/wire/bridge-frames.js';
import type { LineBatch } from '../relay/backend-call.js';

/** The bytes of {@link dataFramePrefix}: `{"id": …, "data": `; the line and a `}` follow. */
export function dataFramePrefixBytes(id: FrameId): Buffer {
  return Buffer.from(dataFramePrefix(id));
}

const FIN_TEXT = 0x81;
const FRAME_END = DATA_FRAME_END.charCodeAt(0);

/**
 * Encodes one unmasked WebSocket text frame (RFC 6455 §5.2, server to client) per line (lines
 * `from` up to `to` of the batch), each carrying `prefix + line + "}"` (`dataFrame`'s text), all in one buffer: a
 * chunk of events becomes one socket write instead of two writes per event.
 */
export function encodeDataFrames(
  prefix: Buffer,
  { sources, starts, ends }: LineBatch,
  from = 0,
  to = starts.length,
): Buffer {
  let total = 0;
  for (let i = from; i < to; i++) {
    const length = prefix.length + ends[i]! - starts[i]! + 1;
    total += length + (length < 126 ? 2 : length < 65536 ? 4 : 10);
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = from; i < to; i++) {
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
    out[at++] = FRAME_END;
  }
  return out;
}
