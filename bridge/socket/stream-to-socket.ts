/** Pumps a store's feed of a listener's events into a socket, taking each message only when the socket can take it. */
import type { Socket } from 'node:net';
import { formatError } from '../../src/wire/socket-protocol.js';
import type { EventFeed, FeedStep, StreamEnd } from '../store/store.js';

export type { StreamEnd } from '../store/store.js';

/** How many socket-sized batches a stream writes before yielding to other connections. */
const MAX_BURST = 8;

/** Options of {@link feedToSocket}. */
export interface FeedToSocketOptions {
  /** Told of a failure of the feed (the client gets its error reply). */
  onError?: (error: unknown) => void;
  /** Aborts when the client said it has gone (`rs`). */
  cancel?: AbortSignal | undefined;
  /** Events to write at most, then end (the command's `n`; docs/protocol.md, "Bounded streams: n"). */
  limit?: number | undefined;
}

/**
 * Pumps a feed into a socket: asks for lines only when the socket has room for them, tells the
 * feed whether they were written, and ends as the feed says, when the client goes, when the
 * feed is interrupted, when `cancel` aborts (`cancelled`: the client said it has gone; the
 * socket is destroyed at once), or once `limit` events are written (`limit`: after the feed has
 * settled them, so that a next stream of the listener begins after them). A feed that answers
 * synchronously is pumped without a promise per batch. Ends the socket except when the client
 * has gone; resolves with how the stream ended.
 */
export function feedToSocket(
  feed: EventFeed,
  socket: Socket,
  { onError = () => {}, cancel, limit = Infinity }: FeedToSocketOptions = {},
): Promise<StreamEnd> {
  return new Promise((resolve) => {
    const budget = socket.writableHighWaterMark;
    const delayMs = feed.delayMs;
    let timer: NodeJS.Timeout | null = null;
    let done = false;
    let burst = 0;
    let left = limit;

    const finish = (end: StreamEnd) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      socket.off('close', onGone);
      feed.interrupted.removeEventListener('abort', onInterrupted);
      cancel?.removeEventListener('abort', onCancelled);
      feed.close();
      if (end === 'cancelled') socket.destroy();
      else if (end !== 'client-gone') socket.end();
      resolve(end);
    };
    const onGone = () => finish('client-gone');
    const onInterrupted = () => finish(feed.interrupted.reason as StreamEnd);
    const onCancelled = () => finish('cancelled');
    const gone = () => socket.destroyed || !socket.writable;
    const fail = (error: unknown) => {
      if (done) return;
      // Report it to the client and end this stream only.
      onError(error);
      if (!gone()) socket.write(formatError(error));
      finish('failed');
    };

    function pump(): void {
      timer = null;
      if (done) return;
      if (gone()) return finish('client-gone');
      let step: FeedStep | Promise<FeedStep>;
      try {
        step = feed.next(delayMs > 0 ? 0 : budget - socket.writableLength, left);
      } catch (error) {
        return fail(error);
      }
      if (step instanceof Promise) step.then(write, fail);
      else write(step);
    }

    function write(step: FeedStep): void {
      if (done) return;
      if (gone()) {
        feed.unwritten();
        return finish('client-gone');
      }
      if (step.end !== undefined) {
        if (step.lines) {
          socket.write(step.lines);
          if (socket.errored || socket.destroyed) feed.unwritten();
          else feed.written();
        }
        if (step.error !== undefined) onError(step.error);
        return finish(step.end);
      }
      // A Buffer goes to the kernel at once, so a peer that has gone (unnoticed while the
      // stream was idle) fails this very write: the messages stay queued, and nothing is lost.
      const writable = socket.write(Buffer.from(step.lines));
      if (socket.errored || socket.destroyed) {
        feed.unwritten();
        return finish('client-gone');
      }
      feed.written();
      if (left !== Infinity && (left -= linesIn(step.lines)) <= 0) return atLimit();
      const next = delayMs > 0 ? () => (timer = setTimeout(pump, delayMs)) : () => setImmediate(pump);
      if (!writable) socket.once('drain', next);
      // While the kernel takes everything at once, keep going, but let other connections in now and then.
      else if (delayMs === 0 && ++burst < MAX_BURST) pump();
      else {
        burst = 0;
        next();
      }
    }

    /** The last event the command asked for is written: the stream ends once the store has it as delivered. */
    function atLimit(): void {
      const settled = feed.settled?.();
      if (!settled) return finish('limit');
      settled.then(
        () => finish('limit'),
        (error: unknown) => {
          // Delivered all the same (written); only a next stream started at once may see them again.
          onError(error);
          finish('limit');
        },
      );
    }

    socket.once('close', onGone);
    if (feed.interrupted.aborted) return onInterrupted();
    if (cancel?.aborted) return onCancelled();
    feed.interrupted.addEventListener('abort', onInterrupted, { once: true });
    cancel?.addEventListener('abort', onCancelled, { once: true });
    pump();
  });
}

/** How many event lines a step holds: each ends with a newline, which JSON inside a line never has. */
function linesIn(lines: string): number {
  let count = 0;
  for (let at = lines.indexOf('\n'); at >= 0; at = lines.indexOf('\n', at + 1)) count++;
  return count;
}
