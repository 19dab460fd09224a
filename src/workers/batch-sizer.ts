/**
 * How long one batch should keep a worker busy, in ms: long enough that what a batch costs on its
 * own (a message each way, cloning) is a small share of it, short enough that work spreads over
 * every worker from the first messages on and the last batches end together.
 */
export const TARGET_BATCH_MS = 2;

/**
 * Sizes batches by how long workers took on the ones before: the first batch is one message (a
 * pool's first worker must not take a long run of work while the others still start), then each
 * size at most doubles, towards as many messages as fill {@link TARGET_BATCH_MS}, up to `maxBatch`.
 * Trivial handlers reach `maxBatch` within a few batches; a handler of several ms stays at one.
 */
export class BatchSizer {
  readonly maxBatch: number;
  #size = 1;

  constructor(maxBatch: number) {
    this.maxBatch = maxBatch;
  }

  /** The size of the next batch. */
  get size(): number {
    return this.#size;
  }

  /** Learns from a batch of `count` messages that kept its worker busy for `ms` (unknown: just grow). */
  observe(count: number, ms: number | undefined): void {
    if (count === 0) return;
    // A clock too coarse to see the batch (a browser's, say) tells only that it was quick.
    const fit = ms === undefined || ms <= 0 ? Infinity : Math.floor((TARGET_BATCH_MS * count) / ms);
    this.#size = Math.max(1, Math.min(this.maxBatch, this.#size * 2, fit));
  }
}
