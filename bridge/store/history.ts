/**
 * A listener's history (docs/protocol.md, "Event ids, histories and resume"): the ids of the events
 * its streams deliver, and its last N delivered events, so a stream that dropped can be resumed
 * where it was.
 *
 * The contract, which any store of histories keeps (this in-memory one, or one shared by several
 * servers):
 * - every event a stream of the listener writes gets an id, unique within the listener and
 *   increasing in delivery order; an event is recorded once written, never when it goes back to
 *   the queue unwritten;
 * - the history is the last `limit` recorded events with their ids (none with a limit of 0);
 * - resuming after an id replays the retained events that came after it, with their original
 *   ids; when some event after it is no longer retained, or the id is not one of this listener's,
 *   the replay starts with a gap (then everything retained), so nothing is skipped silently.
 *
 * Here an id is `<listener id>:<n>`, `n` counting the listener's deliveries from 1, so the id
 * alone names the listener (a watch is resumed by id alone) and its position. Clients treat ids
 * as opaque.
 */
import type { Message } from '../../src/bus/message.js';

/** Separates the listener id from the delivery number in an event id. */
const SEPARATOR = ':';
/** A delivery number as ids write it: decimal, no leading zero. */
const NUMBER = /^(0|[1-9]\d*)$/;
/** '000' … '999': an id's last three digits, so most ids are made without turning a number into text. */
const LAST_DIGITS = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));

/** The listener an event id names, or undefined when it is not an id this server writes. */
export function listenerOfId(id: string): string | undefined {
  const at = id.lastIndexOf(SEPARATOR);
  return at > 0 && NUMBER.test(id.slice(at + 1)) ? id.slice(0, at) : undefined;
}

/** The id of listener `listenerId`'s `n`-th event: `<listener id>:<n>`. */
export function idOf(listenerId: string, n: number): string {
  return listenerId + SEPARATOR + n;
}

/** The event number an id carries, or undefined when it is not an id this server writes. */
export function numberOfId(id: string): number | undefined {
  return listenerOfId(id) === undefined ? undefined : Number(id.slice(id.lastIndexOf(SEPARATOR) + 1));
}

/** Where a resumed stream starts: the first delivery number to replay, and whether a gap comes first. */
export interface ResumePoint {
  /** The first retained delivery to replay (replay runs to {@link EventHistory.last}). */
  from: number;
  /** True when some event after the given id is gone (or the id is unknown): a gap event comes first. */
  gap: boolean;
}

/**
 * One listener's delivery numbers and its retained messages, on a ring buffer (O(1) per event,
 * amortized): the last `limit`, and besides them the events whose lines make up the newest
 * `windowBytes` characters (see {@link DEFAULT_HISTORY_BYTES} for why).
 */
export class EventHistory {
  readonly #prefix: string;
  readonly #limit: number;
  readonly #windowBytes: number;
  /** The retained messages, oldest at `#head`; grows by doubling as needed, then overwrites the oldest. */
  #ring: (Message | undefined)[] = [];
  /** The length of each retained message's line, at the same index (kept only with a byte window). */
  #sizes: number[] = [];
  #head = 0;
  #count = 0;
  #last = 0;
  /** How many of the newest events, and how many characters, the byte window holds. */
  #windowCount = 0;
  #windowChars = 0;
  /** `#prefix` and the thousands of the last id made: consecutive ids share it. */
  #thousands = 0;
  #thousandsPrefix = '';

  /**
   * A history of `listenerId`'s deliveries that keeps the last `limit` (0: none, only the
   * numbering) and, with `windowBytes`, also every event among the newest `windowBytes`
   * characters of lines recorded.
   */
  constructor(listenerId: string, limit: number, windowBytes = 0) {
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new RangeError(`A history keeps a whole number of events, not ${limit}`);
    if (!Number.isSafeInteger(windowBytes) || windowBytes < 0)
      throw new RangeError(`A history's byte window is a whole number of bytes, not ${windowBytes}`);
    this.#prefix = listenerId + SEPARATOR;
    this.#limit = limit;
    // A history that keeps nothing keeps nothing for the window either.
    this.#windowBytes = limit === 0 ? 0 : windowBytes;
  }

  /** The number of the newest delivered event (0 before the first). */
  get last(): number {
    return this.#last;
  }

  /** How many events are retained. */
  get size(): number {
    return this.#count;
  }

  /** The id of delivery number `n`. */
  idOf(n: number): string {
    if (n < 1000) return this.#prefix + n;
    const thousands = Math.floor(n / 1000);
    if (thousands !== this.#thousands) {
      this.#thousands = thousands;
      this.#thousandsPrefix = this.#prefix + thousands;
    }
    return this.#thousandsPrefix + LAST_DIGITS[n - thousands * 1000];
  }

  /**
   * Records `msgs` as delivered, in order: each takes the next number; `sizes` are the lengths
   * of their lines (for the byte window). The oldest beyond what is kept are dropped.
   */
  record(msgs: readonly Message[], sizes?: readonly number[]): void {
    for (let i = 0; i < msgs.length; i++) this.#push(msgs[i]!, sizes?.[i] ?? 0);
  }

  /** Retained delivery number `n`, or undefined when it is not (or no longer) in the history. */
  at(n: number): Message | undefined {
    const offset = n - (this.#last - this.#count + 1);
    if (offset < 0 || offset >= this.#count) return undefined;
    return this.#ring[(this.#head + offset) % this.#ring.length];
  }

  /** Where a stream resumed after `id` starts (see the contract above). */
  resumeAfter(id: string): ResumePoint {
    const oldest = this.#last - this.#count + 1;
    const n = id.startsWith(this.#prefix) ? id.slice(this.#prefix.length) : '';
    if (NUMBER.test(n)) {
      const after = Number(n);
      if (after <= this.#last && after >= oldest - 1) return { from: after + 1, gap: false };
    }
    return { from: oldest, gap: true };
  }

  #push(msg: Message, size: number): void {
    this.#last++;
    if (this.#limit === 0) return;
    const windowed = this.#windowBytes > 0;
    if (windowed) {
      this.#windowCount++;
      this.#windowChars += size;
    }
    const ring = this.#ring;
    if (this.#count < ring.length) {
      this.#put((this.#head + this.#count) % ring.length, msg, size);
      this.#count++;
    } else if (ring.length < this.#limit + this.#windowCount) {
      this.#grow();
      this.#put(this.#count++, msg, size);
    } else {
      this.#put(this.#head, msg, size);
      this.#head = (this.#head + 1) % ring.length;
    }
    if (!windowed) return;
    // The window holds the newest events whose lines fit in it; the oldest of them leave it first.
    while (this.#windowChars > this.#windowBytes && this.#windowCount > 0) {
      const oldest = (this.#head + this.#count - this.#windowCount) % this.#ring.length;
      this.#windowChars -= this.#sizes[oldest]!;
      this.#windowCount--;
    }
    while (this.#count > this.#limit + this.#windowCount) {
      this.#ring[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.#ring.length;
      this.#count--;
    }
  }

  #put(index: number, msg: Message, size: number): void {
    this.#ring[index] = msg;
    if (this.#windowBytes > 0) this.#sizes[index] = size;
  }

  #grow(): void {
    const old = this.#ring;
    const oldSizes = this.#sizes;
    const doubled = Math.max(16, old.length * 2);
    // Without a byte window the ring never needs more than `limit` slots.
    const length = this.#windowBytes > 0 ? doubled : Math.min(this.#limit, doubled);
    const ring: (Message | undefined)[] = new Array(length);
    const sizes: number[] = this.#windowBytes > 0 ? new Array(length) : [];
    for (let i = 0; i < this.#count; i++) {
      const from = (this.#head + i) % old.length;
      ring[i] = old[from];
      if (this.#windowBytes > 0) sizes[i] = oldSizes[from]!;
    }
    this.#ring = ring;
    this.#sizes = sizes;
    this.#head = 0;
  }
}
