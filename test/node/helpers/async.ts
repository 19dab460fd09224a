/**
 * Reading streams and waiting, for every suite (dom and node alike: nothing here needs Node).
 * Every wait is bounded and names what it waited for when it gives up.
 */

/** The first `count` items of a stream; then stops it (`return()`), as a consumer's `break` does. */
export async function take<T>(stream: AsyncIterable<T>, count: number): Promise<T[]> {
  const out: T[] = [];
  if (count <= 0) return out;
  for await (const item of stream) {
    out.push(item);
    if (out.length >= count) break;
  }
  return out;
}

/**
 * Every item until the stream ends (or what is left of it, given its iterator); a stream that goes
 * past `max` items fails instead of running on.
 */
export async function collect<T>(stream: AsyncIterable<T> | AsyncIterator<T>, max = 10_000): Promise<T[]> {
  const iterator = Symbol.asyncIterator in stream ? stream[Symbol.asyncIterator]() : stream;
  const out: T[] = [];
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    if (out.length === max) {
      await iterator.return?.();
      throw new Error(`the stream went past ${max} items without ending`);
    }
    out.push(next.value);
  }
  return out;
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `done()` holds, checking every 10 ms for at most 10 s; throws naming `what` otherwise. */
export async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (done()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Calls `poke(attempt)` until `heard` settles, then returns what it settled with: for a watch,
 * whose listener exists only once the server has got to the command, and no server says when.
 * At most 200 pokes, 10 ms apart; throws naming `what` otherwise.
 */
export async function pokeUntil<T>(
  heard: Promise<T>,
  poke: (attempt: number) => Promise<unknown>,
  what: string,
): Promise<T> {
  let settled = false;
  const done = heard.finally(() => (settled = true));
  for (let attempt = 0; attempt < 200 && !settled; attempt++) {
    await poke(attempt);
    await Promise.race([done, sleep(10)]);
  }
  if (!settled) throw new Error(`timed out waiting for ${what}`);
  return done;
}
