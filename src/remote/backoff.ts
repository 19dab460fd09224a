/** When to try again after a failed connection: exponential growth, a cap, and jitter. */
export interface BackoffOptions {
  /** Delay before the first retry, in milliseconds (250). */
  initialDelayMs?: number;
  /** Largest delay, in milliseconds (10 000). */
  maxDelayMs?: number;
  /** Growth per failed attempt (2). */
  factor?: number;
  /** Share of the delay that is random, 0…1 (0.5): spreads out clients that lost the same server. */
  jitter?: number;
  /** Attempts before giving up (unbounded). */
  maxAttempts?: number;
}

/** The delay before retry number `attempt` (0 for the first retry), in milliseconds. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const { initialDelayMs = 250, maxDelayMs = 10_000, factor = 2, jitter = 0.5 } = options;
  const ceiling = Math.min(maxDelayMs, initialDelayMs * factor ** attempt);
  const share = Math.min(1, Math.max(0, jitter));
  return ceiling * (1 - share) + ceiling * share * random();
}
