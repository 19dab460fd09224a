/** Streams a listener's events to a socket, taking each message only when the socket can take it. */
import type { Socket } from 'node:net';
import {
  type AbstractChannel,
  MESSAGE_TYPE_CLOSED,
  MESSAGE_TYPE_GAP,
  Message,
  type MessageQueueListener,
  type SSEEvent,
} from '../../src/index.js';
import { eventLine, formatError } from '../../src/wire/socket-protocol.js';
import type { EventHistory } from './history.js';

/** How many socket-sized batches a stream writes before yielding to other connections. */
const MAX_BURST = 8;

/** How a stream ended. */
export type StreamEnd = 'stopped' | 'closed' | 'client-gone' | 'failed' | 'superseded';

/** Options of {@link streamToSocket}. */
export interface StreamToSocketOptions {
  /** Told when taking a message failed (e.g. a listener's `onMessage` threw). */
  onError?: (error: unknown) => void;
  /** Aborted when a newer stream of the same listener takes over. */
  signal?: AbortSignal;
  /**
   * The listener's history: each line written carries its id and is recorded (SPEC §7). Without
   * one, lines are eric-sse's plain `{"event","retry","data"}`.
   */
  history?: EventHistory;
  /** With `history`: the id the client resumes after; the retained events after it are replayed first. */
  after?: string;
}

/**
 * Writes one JSON line per event until the listener stops (`stopped`), is removed or its
 * channel goes away (`closed`: one closed event is written and the listener stopped), or the
 * client disconnects (`client-gone`), or taking a message failed (`failed`: e.g. a listener's
 * `onMessage` threw; the error reply is written and `onError` told), or `signal` aborts
 * (`superseded`: a newer stream of the same listener took over). Event-driven: while the queue is empty nothing runs.
 * Messages are taken in batches that fit the socket's buffer and never after the client
 * has gone, so what the client did not get stays queued. A resumed stream (`after`) first
 * replays from the history, a `_eric_gap` event ahead when it does not reach back that far.
 * Ends the socket except when the client has gone.
 */
export function streamToSocket(
  channel: AbstractChannel<SSEEvent>,
  listener: MessageQueueListener,
  socket: Socket,
  { onError = () => {}, signal, history, after }: StreamToSocketOptions = {},
): Promise<StreamEnd> {
  return new Promise((resolve) => {
    const id = listener.id;
    const delayMs = channel.streamDelaySeconds * 1000;
    const budget = socket.writableHighWaterMark;
    let cancel: (() => void) | null = null;
    let timer: NodeJS.Timeout | null = null;
    let done = false;
    let burst = 0;
    // The replay of a resumed stream: the gap line (if any), then deliveries `replayed` … `replayEnd`.
    let gapLine: string | undefined;
    let replayed = 1;
    let replayEnd = 0;
    if (history && after !== undefined) {
      const start = history.resumeAfter(after);
      replayed = start.from;
      replayEnd = history.last;
      if (start.gap)
        gapLine = eventLine(channel.adapt(new Message(MESSAGE_TYPE_GAP, { after })), history.jsonIdOf(start.from - 1));
    }

    const finish = (end: StreamEnd) => {
      if (done) return;
      done = true;
      cancel?.();
      if (timer) clearTimeout(timer);
      socket.off('close', onGone);
      signal?.removeEventListener('abort', onSuperseded);
      if (end !== 'client-gone') socket.end();
      resolve(end);
    };
    const onGone = () => finish('client-gone');
    const onSuperseded = () => finish('superseded');
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

    /**
     * Writes a chunk at once (a Buffer goes to the kernel now, so a peer that has gone unnoticed
     * while the stream was idle fails this very write): `taken` messages go back to the queue if
     * it failed, into the history if it did not. Says whether the socket has room for more.
     */
    function send(chunk: string, taken: readonly Message[]): 'room' | 'full' | 'gone' {
      const writable = socket.write(Buffer.from(chunk));
      if (socket.errored || socket.destroyed) {
        channel.requeue(id, taken);
        return 'gone';
      }
      history?.record(taken);
      return writable ? 'room' : 'full';
    }

    /** The next lines of a replay, as many as fit in `room` (at least one). */
    function replayChunk(room: number): string {
      let chunk = '';
      if (gapLine !== undefined) {
        chunk = gapLine;
        gapLine = undefined;
      }
      while (replayed <= replayEnd && (chunk === '' || chunk.length < room)) {
        const msg = history!.at(replayed);
        // Only this stream records deliveries of the listener, so what was retained stays retained.
        if (msg !== undefined) chunk += eventLine(channel.adapt(msg), history!.jsonIdOf(replayed));
        replayed++;
      }
      return chunk;
    }

    function step(): void {
      if (gone()) return finish('client-gone');
      if (!channel.hasListener(listener)) {
        listener.stopSync();
        socket.write(eventLine(channel.adapt(new Message(MESSAGE_TYPE_CLOSED)), history?.jsonIdOf(history.last + 1)));
        return finish('closed');
      }
      if (!listener.isRunningSync()) return finish('stopped');
      // Take only as many messages as the socket's buffer has room for (one when paced).
      const room = delayMs > 0 ? 0 : budget - socket.writableLength;
      let sent: ReturnType<typeof send>;
      if (gapLine !== undefined || replayed <= replayEnd) sent = send(replayChunk(room), []);
      else {
        if (channel.queueLength(id) === 0) {
          cancel = channel.whenMessageWaits(id, pump);
          return;
        }
        const taken: Message[] = [];
        const first = history?.last ?? 0;
        let chunk = '';
        try {
          do {
            const msg = channel.deliverNext(id);
            chunk += eventLine(channel.adapt(msg), history?.jsonIdOf(first + taken.length + 1));
            taken.push(msg);
          } while (chunk.length < room && channel.queueLength(id) > 0 && listener.isRunningSync());
        } catch (error) {
          // What was taken before the failure still goes out.
          if (chunk !== '') send(chunk, taken);
          throw error;
        }
        sent = send(chunk, taken);
      }
      if (sent === 'gone') return finish('client-gone');
      const next = delayMs > 0 ? () => (timer = setTimeout(pump, delayMs)) : () => setImmediate(pump);
      if (sent === 'full') socket.once('drain', next);
      // While the kernel takes everything at once, keep going, but let other connections in now and then.
      else if (delayMs === 0 && ++burst < MAX_BURST) step();
      else {
        burst = 0;
        next();
      }
    }

    socket.once('close', onGone);
    if (signal?.aborted) return finish('superseded');
    signal?.addEventListener('abort', onSuperseded, { once: true });
    pump();
  });
}
