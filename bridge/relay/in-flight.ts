/**
 * The bridge-wide cap on commands in flight to the socket server (each one a Unix connection):
 * past it, callers wait their turn in order, so a flood on one WebSocket neither exhausts file
 * descriptors nor keeps other WebSockets waiting behind it.
 */
export class InFlightLimit {
  #free: number;
  /** Waiting callers, oldest first (a Set keeps insertion order and forgets one in O(1)). */
  readonly #waiting = new Set<() => void>();

  constructor(max: number) {
    this.#free = max;
  }

  /** Calls `granted` with a slot now if one is free, otherwise once one is released for it. */
  acquire(granted: () => void): void {
    if (this.#free > 0) {
      this.#free--;
      granted();
    } else this.#waiting.add(granted);
  }

  /** Gives a slot back: straight to the oldest waiting caller, if any. */
  release(): void {
    const next = this.#waiting.values().next();
    if (next.done) this.#free++;
    else {
      this.#waiting.delete(next.value);
      next.value();
    }
  }

  /** Withdraws a waiting `acquire`; false when it was not waiting (it already got its slot). */
  cancel(granted: () => void): boolean {
    return this.#waiting.delete(granted);
  }
}

/**
 * Bytes waiting to go out to a client (WebSocket or event stream) above which its Unix streams stop
 * being read; for a WebSocket, its own frames too (so that replies to a client that does not read
 * stay bounded).
 */
export const HIGH_WATER = 1 << 20;
