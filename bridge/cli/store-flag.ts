/** The `--redis URL` flag of `eric-bus serve` and `eric-bus up`: where the server keeps its channels. */
import { UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ChannelStore } from '../store/store.js';

/** The flag's `--help` line, its description starting at column `column`. */
export function storeFlagUsage(column: number): string {
  return `  ${'--redis URL'.padEnd(column - 2)}keep channels in Redis (redis://HOST:PORT[/DB]), shared by every
${' '.repeat(column)}server on it and kept across restarts (default: in memory)`;
}

/** parseCommandArgs options for the flag. */
export const storeFlagOptions = { redis: { type: 'string' } } as const;

/**
 * The store `--redis` names, connected, or undefined for the in-memory default. A Redis that
 * cannot be reached rejects with `StoreUnavailable` saying so (the command exits 1).
 */
export async function storeFromFlags(
  values: { redis?: string },
  options: { logger: Logger; history?: number; watchGraceMs?: number },
): Promise<ChannelStore | undefined> {
  const url = values.redis;
  if (url === undefined) return undefined;
  if (!/^rediss?:\/\/./.test(url) && !url.startsWith('/'))
    throw new UsageError(`--redis takes redis://HOST:PORT[/DB] (rediss:// for TLS) or a socket path, not '${url}'`);
  // Loaded only when asked for: the in-memory default does not load the Redis client.
  const { RedisStore } = await import('../store/redis.js');
  return RedisStore.connect(url, options);
}
