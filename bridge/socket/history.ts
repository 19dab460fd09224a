/**
 * A listener's history (SPEC §7): the ids of the events its streams deliver, and its last N
 * delivered events, so a stream that dropped can be resumed where it was.
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

/** One listener's delivery numbers and last `limit` delivered messages, on a ring buffer (O(1) per event). */
export class EventHistory {
  readonly #prefix: string;
  readonly #limit: number;
  /** The retained messages, oldest at `#head`; grows by doubling up to `#limit`, then overwrites the oldest. */
  #ring: (Message | undefined)[] = [];
  #head = 0;
  #count = 0;
  #last = 0;
  /** Whether ids are JSON strings as they are (a listener id with no quote, backslash or control character). */
  /** `#prefix` and the thousands of the last id made: consecutive ids share it. */
  #thousands = 0;
  #thousandsPrefix = '';

  /** A history of `listenerId`'s deliveries that keeps the last `limit` (0: none, only the numbering). */
  constructor(listenerId: string, limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new RangeError(`A history keeps a whole number of events, not ${limit}`);
    this.#prefix = listenerId + SEPARATOR;
    this.#limit = limit;
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

  /** Records `msgs` as delivered, in order: each takes the next number; the oldest beyond the limit are dropped. */
  record(msgs: readonly Message[]): void {
    for (const msg of msgs) this.#push(msg);
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

  #push(msg: Message): void {
    this.#last++;
    if (this.#limit === 0) return;
    const ring = this.#ring;
    if (this.#count < ring.length) {
      ring[(this.#head + this.#count) % ring.length] = msg;
      this.#count++;
    } else if (ring.length < this.#limit) {
      this.#grow();
      this.#ring[this.#count++] = msg;
    } else {
      ring[this.#head] = msg;
      this.#head = (this.#head + 1) % ring.length;
    }
  }

  #grow(): void {
    const old = this.#ring;
    const ring: (Message | undefined)[] = new Array(Math.min(this.#limit, Math.max(16, old.length * 2)));
    for (let i = 0; i < this.#count; i++) ring[i] = old[(this.#head + i) % old.length];
    this.#ring = ring;
    this.#head = 0;
  }
}
