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

/** How many rounds of {@link spin} take about `ms` milliseconds on this machine. */
export function roundsFor(ms: number): number {
  let rounds = 100_000;
  for (;;) {
    const start = performance.now();
    spin(rounds);
    const took = performance.now() - start;
    if (took > 50) return Math.round((rounds * ms) / took);
    rounds *= 2;
  }
}
