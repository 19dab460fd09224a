/** The longest one `setTimeout` waits (about 24.8 days); a later time is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `fire` once at `at` (ms since the epoch; at once when that has passed), however far off:
 * a token's expiry, a refresh. With `unref`, the wait keeps no Node process alive. Returns its
 * cancellation.
 */
export function timerAt(at: number, fire: () => void, unref = false): () => void {
  let timer: ReturnType<typeof setTimeout>;
  const arm = () => {
    const wait = at - Date.now();
    timer = setTimeout(() => (wait > MAX_TIMER_MS ? arm() : fire()), Math.min(Math.max(0, wait), MAX_TIMER_MS));
    if (unref) (timer as { unref?: () => void }).unref?.();
  };
  arm();
  return () => clearTimeout(timer);
}
