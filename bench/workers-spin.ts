/** Pure computation for the CPU-bound benchmark: `rounds` steps of an xorshift generator. */
export function spin(rounds: number): number {
  let x = 2463534242;
  for (let i = 0; i < rounds; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return x >>> 0;
}

/**
 * How many rounds of {@link spin} take about `ms` milliseconds on this machine: from the fastest
 * of a few timings after a warm-up, so a busy moment or the JIT's first tiers do not skew it.
 */
export function roundsFor(ms: number): number {
  const rounds = 2_000_000;
  spin(rounds);
  let fastest = Infinity;
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    spin(rounds);
    fastest = Math.min(fastest, performance.now() - start);
  }
  return Math.round((rounds * ms) / Math.max(fastest, 0.001));
}
