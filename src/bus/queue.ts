/**
 * Where a listener's messages wait. The seam for other backends (e.g. a queue shared by
 * several servers): the channel only ever pushes, takes, asks the length and waits for more.
 */
export interface MessageQueue<T> {
  /** Appends an item at the tail. */
  push(item: T): void;
  /** Removes and returns the head, or undefined when empty. */
  take(): T | undefined;
  /** How many items wait. */
  readonly length: number;
  /** Calls `wake` once, at the next push (at once if items already wait); returns a canceller. */
  waitForMore(wake: () => void): () => void;
  /**
   * Optional: puts items that were taken but could not be delivered back at the head, in
   * their order (e.g. a socket that turned out closed). Queues without it cannot return them.
   */
  putBack?(items: readonly T[]): void;
}

/** Makes the queue for a new listener. */
export type QueueFactory = <T>() => MessageQueue<T>;

/** In-memory FIFO on a growable ring buffer: O(1) push and take, no shifting. */
export class RingQueue<T> implements MessageQueue<T> {
  #items: (T | undefined)[] = new Array(16);
  #mask = 15;
  #head = 0;
  #length = 0;
  #waiters: (() => void)[] = [];

  get length(): number {
    return this.#length;
  }

  /** Slots allocated; grows by doubling only when full, never shrinks below what is waiting. */
  get capacity(): number {
    return this.#items.length;
  }

  /** How many `waitForMore` callbacks are pending (0 once every stream has let go). */
  get waiting(): number {
    return this.#waiters.length;
  }

  push(item: T): void {
    if (this.#length > this.#mask) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
    this.#wakeAll();
  }

  putBack(items: readonly T[]): void {
    for (let i = items.length - 1; i >= 0; i--) {
      if (this.#length > this.#mask) this.#grow();
      this.#head = (this.#head - 1) & this.#mask;
      this.#items[this.#head] = items[i];
      this.#length++;
    }
    if (items.length > 0) this.#wakeAll();
  }

  #wakeAll(): void {
    if (this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    }
  }

  take(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  waitForMore(wake: () => void): () => void {
    if (this.#length > 0) {
      wake();
      return noop;
    }
    this.#waiters.push(wake);
    return () => {
      const i = this.#waiters.indexOf(wake);
      if (i >= 0) this.#waiters.splice(i, 1);
    };
  }

  #grow(): void {
    const old = this.#items;
    const size = old.length;
    const items: (T | undefined)[] = new Array(size * 2);
    for (let i = 0; i < size; i++) items[i] = old[(this.#head + i) & this.#mask];
    this.#items = items;
    this.#head = 0;
    this.#mask = size * 2 - 1;
  }
}

/** The default {@link QueueFactory}: in-memory ring queues. */
export const memoryQueues: QueueFactory = () => new RingQueue();

function noop(): void {}
