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

/** Slots of the first segment; segments double from here as the queue grows. */
const MIN_SEGMENT = 16;
/**
 * Slots of the largest segment. A long queue is a chain of these rather than one big array: each
 * is small and short-lived enough for the young-generation collector, where one large array
 * would be copied on every doubling and scanned by every collection while it holds young messages.
 */
const MAX_SEGMENT = 1024;

/** A fixed-size run of slots in a {@link ChunkedQueue}, linked to the next one. */
interface Segment<T> {
  readonly items: (T | undefined)[];
  next: Segment<T> | undefined;
}

function segment<T>(size: number): Segment<T> {
  return { items: new Array<T | undefined>(size), next: undefined };
}

/**
 * In-memory FIFO on a chain of fixed-size segments: O(1) push and take, no shifting, no
 * copying as it grows. The last segment emptied is kept for the next one needed, so a queue
 * that fills and drains in turn allocates nothing once warm.
 */
export class ChunkedQueue<T> implements MessageQueue<T> {
  /** Where take reads: the oldest segment, at {@link #headIndex}. */
  #head: Segment<T> = segment(MIN_SEGMENT);
  #headIndex = 0;
  /** Where push writes: the newest segment, at {@link #tailIndex}. */
  #tail: Segment<T> = this.#head;
  #tailIndex = 0;
  #length = 0;
  #spare: Segment<T> | undefined;
  #waiters: (() => void)[] = [];

  get length(): number {
    return this.#length;
  }

  /** Slots allocated (segments in use and the spare): bounded by what waits, never by what went through. */
  get capacity(): number {
    let slots = this.#spare?.items.length ?? 0;
    for (let s: Segment<T> | undefined = this.#head; s; s = s.next) slots += s.items.length;
    return slots;
  }

  /** How many `waitForMore` callbacks are pending (0 once every stream has let go). */
  get waiting(): number {
    return this.#waiters.length;
  }

  push(item: T): void {
    if (this.#tailIndex === this.#tail.items.length) {
      const next = this.#newSegment();
      this.#tail.next = next;
      this.#tail = next;
      this.#tailIndex = 0;
    }
    this.#tail.items[this.#tailIndex++] = item;
    this.#length++;
    if (this.#waiters.length > 0) this.#wakeAll();
  }

  take(): T | undefined {
    if (this.#length === 0) return undefined;
    let head = this.#head;
    if (this.#headIndex === head.items.length) {
      this.#head = head.next!;
      this.#recycle(head);
      head = this.#head;
      this.#headIndex = 0;
    }
    const item = head.items[this.#headIndex];
    head.items[this.#headIndex++] = undefined;
    // Empty: start over at the front of the newest segment, so a steady trickle reuses it.
    if (--this.#length === 0) this.#restart();
    return item;
  }

  putBack(items: readonly T[]): void {
    for (let i = items.length - 1; i >= 0; i--) {
      if (this.#headIndex === 0) {
        const front = this.#newSegment();
        front.next = this.#head;
        this.#head = front;
        this.#headIndex = front.items.length;
      }
      this.#head.items[--this.#headIndex] = items[i];
      this.#length++;
    }
    if (items.length > 0 && this.#waiters.length > 0) this.#wakeAll();
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

  #wakeAll(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** A segment sized for what waits (a power of two up to {@link MAX_SEGMENT}): the spare when it is big enough. */
  #newSegment(): Segment<T> {
    let size = MIN_SEGMENT;
    while (size < this.#length && size < MAX_SEGMENT) size *= 2;
    const spare = this.#spare;
    if (spare && spare.items.length >= size) {
      this.#spare = undefined;
      return spare;
    }
    return segment(size);
  }

  /** Keeps an emptied segment as the spare (the larger of two). */
  #recycle(emptied: Segment<T>): void {
    emptied.next = undefined;
    if (!this.#spare || this.#spare.items.length <= emptied.items.length) this.#spare = emptied;
  }

  #restart(): void {
    if (this.#head !== this.#tail) {
      // Only after putBack: the front segments are empty now.
      let emptied = this.#head;
      this.#head = this.#tail;
      while (emptied !== this.#tail) {
        const next = emptied.next!;
        this.#recycle(emptied);
        emptied = next;
      }
    }
    this.#headIndex = 0;
    this.#tailIndex = 0;
  }
}

/** The default {@link QueueFactory}: in-memory {@link ChunkedQueue}s. */
export const memoryQueues: QueueFactory = () => new ChunkedQueue();

function noop(): void {}
