import { ChunkedQueue } from '../bus/queue.js';

/** The feeding side of a stream: what the connection calls as frames arrive. */
export interface StreamSink<T> {
  /** Queues one item for the consumer. */
  push(item: T): void;
  /** Ends the stream after the queued items; with an error, the consumer gets it after them. */
  finish(error?: Error): void;
  /** True once the stream has ended or been cancelled. */
  readonly finished: boolean;
  /** How many items wait for the consumer. */
  readonly queued: number;
}

/**
 * How much credit a stream under a window should grant its sender now: none until half the window
 * is free, then all that is free. `granted` and `received` count the events allowed and received so
 * far on the current connection, `queued` those waiting for the consumer. Granting by halves keeps
 * credit frames few while the sender never waits with a consumer that keeps up.
 */
export function creditDue(window: number, granted: number, received: number, queued: number): number {
  const room = window - (granted - received) - queued;
  return room * 2 < window ? 0 : room;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * An async iterator fed by pushes: items wait in an O(1) queue until the consumer asks.
 * `return()` (what `break` calls) drops what is queued and calls `onCancel` once. `onTake` is
 * told each time the consumer has taken an item (how a feeder paces itself to the consumer).
 */
export function pushStream<T>(
  onCancel: () => void,
  onTake: () => void = () => {},
): { stream: AsyncIterableIterator<T>; sink: StreamSink<T> } {
  const queue = new ChunkedQueue<T>();
  let ended = false;
  let cancelled = false;
  let failure: Error | undefined;
  let wakers = new Set<() => void>();

  const wakeAll = () => {
    const waiting = wakers;
    wakers = new Set();
    for (const wake of waiting) wake();
  };

  const sink: StreamSink<T> = {
    push(item) {
      if (ended || cancelled) return;
      queue.push(item);
      wakeAll();
    },
    finish(error) {
      if (ended || cancelled) return;
      ended = true;
      failure = error;
      wakeAll();
    },
    get finished() {
      return ended || cancelled;
    },
    get queued() {
      return queue.length;
    },
  };

  const stream: AsyncIterableIterator<T> = {
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        if (cancelled) return DONE;
        if (queue.length > 0) {
          const value = queue.take() as T;
          onTake();
          return { value, done: false };
        }
        if (ended) {
          const error = failure;
          failure = undefined;
          if (error) throw error;
          return DONE;
        }
        await new Promise<void>((resolve) => wakers.add(resolve));
      }
    },
    async return(): Promise<IteratorResult<T>> {
      if (!cancelled) {
        cancelled = true;
        while (queue.take() !== undefined);
        wakeAll();
        if (!ended) onCancel();
      }
      return DONE;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return { stream, sink };
}
