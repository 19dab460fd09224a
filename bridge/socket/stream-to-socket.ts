/** Streams a listener's events to a socket, taking each message only when the socket can take it. */
import type { Socket } from 'node:net';
import {
  type AbstractChannel,
  MESSAGE_TYPE_CLOSED,
  MESSAGE_TYPE_INTERNAL_ERROR,
  Message,
  type MessageQueueListener,
  type SSEEvent,
} from '../../src/index.js';
import { formatError, formatEvent } from '../../src/wire/socket-protocol.js';

/** How many socket-sized batches a stream writes before yielding to other connections. */
const MAX_BURST = 8;

/** How a stream ended. */
export type StreamEnd = 'stopped' | 'closed' | 'client-gone' | 'failed' | 'superseded' | 'cancelled';

/** The abort reason that ends a stream as `cancelled` (its client said it has gone); any other is `superseded`. */
export const CANCELLED = 'cancelled';

/**
 * Writes one JSON line per event until the listener stops (`stopped`), is removed or its
 * channel goes away (`closed`: one closed event is written and the listener stopped), or the
 * client disconnects (`client-gone`), or taking a message failed (`failed`: e.g. a listener's
 * `onMessage` threw; the error reply is written and `onError` told), or `signal` aborts
 * (`superseded`: a newer stream of the same listener took over; `cancelled` when the reason is
 * {@link CANCELLED}: its client has gone). Event-driven: while the queue is empty nothing runs.
 * Messages are taken in batches that fit the socket's buffer and never after the client
 * has gone, so what the client did not get stays queued. Ends the socket (destroys it when
 * cancelled) except when the client has gone. A message this listener's channel cannot turn into
 * a line (a payload `JSON.stringify` refuses, an adapter that throws) is streamed as one
 * `_eric_error` event naming it, and the stream goes on: one message never ends a stream.
 */
export function streamToSocket(
  channel: AbstractChannel<SSEEvent>,
  listener: MessageQueueListener,
  socket: Socket,
  onError: (error: unknown) => void = () => {},
  signal?: AbortSignal,
): Promise<StreamEnd> {
  return new Promise((resolve) => {
    const id = listener.id;
    const delayMs = channel.streamDelaySeconds * 1000;
    const budget = socket.writableHighWaterMark;
    let cancel: (() => void) | null = null;
    let timer: NodeJS.Timeout | null = null;
    let done = false;
    let burst = 0;

    const finish = (end: StreamEnd) => {
      if (done) return;
      done = true;
      cancel?.();
      if (timer) clearTimeout(timer);
      socket.off('close', onGone);
      signal?.removeEventListener('abort', onAbort);
      if (end === 'cancelled') socket.destroy();
      else if (end !== 'client-gone') socket.end();
      resolve(end);
    };
    const onGone = () => finish('client-gone');
    const onAbort = () => finish(signal?.reason === CANCELLED ? 'cancelled' : 'superseded');
    const gone = () => socket.destroyed || !socket.writable;

    function pump(): void {
      cancel = null;
      timer = null;
      if (done) return;
      try {
        step();
      } catch (error) {
        // Report it to the client and end this stream only.
        onError(error);
        if (!gone()) socket.write(formatError(error));
        finish('failed');
      }
    }

    function step(): void {
      if (gone()) return finish('client-gone');
      if (!channel.hasListener(listener)) {
        listener.stopSync();
        socket.write(formatEvent(channel.adapt(new Message(MESSAGE_TYPE_CLOSED))));
        return finish('closed');
      }
      if (!listener.isRunningSync()) return finish('stopped');
      if (channel.queueLength(id) === 0) {
        cancel = channel.whenMessageWaits(id, pump);
        return;
      }
      // Take only as many messages as the socket's buffer has room for (one when paced).
      const taken: Message[] = [];
      let chunk = '';
      const room = delayMs > 0 ? 0 : budget - socket.writableLength;
      try {
        do {
          const msg = channel.deliverNext(id);
          taken.push(msg);
          chunk += line(msg);
        } while (chunk.length < room && channel.queueLength(id) > 0 && listener.isRunningSync());
      } catch (error) {
        // What was taken before the failure still goes out.
        if (chunk !== '') socket.write(Buffer.from(chunk));
        throw error;
      }
      // A Buffer goes to the kernel at once, so a peer that has gone (unnoticed while the
      // stream was idle) fails this very write: the messages go back, and nothing is lost.
      const writable = socket.write(Buffer.from(chunk));
      if (socket.errored || socket.destroyed) {
        channel.requeue(id, taken);
        return finish('client-gone');
      }
      const next = delayMs > 0 ? () => (timer = setTimeout(pump, delayMs)) : () => setImmediate(pump);
      if (!writable) socket.once('drain', next);
      // While the kernel takes everything at once, keep going, but let other connections in now and then.
      else if (delayMs === 0 && ++burst < MAX_BURST) step();
      else {
        burst = 0;
        next();
      }
    }

    /** The message's line, or an error event in its place when it has none. */
    function line(msg: Message): string {
      try {
        return formatEvent(channel.adapt(msg));
      } catch (error) {
        onError(error);
        return errorLine(channel, msg, error);
      }
    }

    socket.once('close', onGone);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    pump();
  });
}

/** eric-sse's default `retry`, for an error event when even the channel's adapter fails. */
const DEFAULT_RETRY_MS = 5;

/** The `_eric_error` line streamed in place of a message that has no line of its own. */
function errorLine(channel: AbstractChannel<SSEEvent>, msg: Message, error: unknown): string {
  const why = error instanceof Error ? error.message : String(error);
  const failed = new Message(MESSAGE_TYPE_INTERNAL_ERROR, {
    type: msg.type,
    message: `This message cannot be streamed: ${why}`,
  });
  try {
    return formatEvent(channel.adapt(failed));
  } catch {
    return formatEvent({ event: failed.type, retry: DEFAULT_RETRY_MS, data: failed.payload });
  }
}
