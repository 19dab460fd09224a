/** The socket server's command-line flags, shared by `eric-bus serve` and `eric-bus up`. */
import { UsageError } from '../errors.js';
import type { ServerLogger } from '../log.js';
import { MemoryStore, type MemoryStoreOptions } from '../store/memory.js';
import { redactRedisUrl } from '../store/redis-url.js';
import type { ChannelStore } from '../store/store.js';
import {
  DEFAULT_HISTORY,
  DEFAULT_HISTORY_BYTES,
  DEFAULT_MAX_CHANNELS,
  DEFAULT_MAX_LISTENERS,
  DEFAULT_WATCH_GRACE_MS,
  MAX_WATCH_GRACE_MS,
} from '../store/store.js';
import { nonNegativeInt, positiveInt, stringFlags } from './args.js';

/** The flags' `--help` lines, descriptions starting at `column` (to line up with the command's other options). */
export function serverFlagsUsage(column: number): string {
  const rows = [
    [
      '--history N',
      'delivered events each listener keeps, so a dropped stream',
      `resumes exactly (default ${DEFAULT_HISTORY}; 0 keeps none)`,
    ],
    [
      '--history-bytes N',
      "besides those, the events of each listener's newest N bytes",
      'delivered: what a client that leaves can leave in flight',
      `(default ${DEFAULT_HISTORY_BYTES}; 0: only the last --history events)`,
    ],
    [
      '--watch-grace MS',
      "how long a watch's listener outlives its stream, waiting",
      `for its client to resume it (default ${DEFAULT_WATCH_GRACE_MS})`,
    ],
    ['--max-channels N', `channels the server holds at most (default ${DEFAULT_MAX_CHANNELS})`],
    [
      '--max-listeners N',
      `listeners its channels hold at most, in all (default ${DEFAULT_MAX_LISTENERS});`,
      "past either limit a command gets a LimitExceeded('…') reply",
      "(in memory only; with --redis, Redis's maxmemory is the budget)",
    ],
    [
      '--redis URL',
      'keep channels in Redis (redis://HOST:PORT[/DB]), shared by',
      'every server on it and kept across restarts (default: memory)',
    ],
  ];
  return rows
    .map(([flag, ...text]) => text.map((line, i) => (i === 0 ? `  ${flag}` : '').padEnd(column) + line).join('\n'))
    .join('\n');
}

/** parseCommandArgs options for the server flags. */
export const serverFlagOptions = stringFlags(
  'history',
  'history-bytes',
  'watch-grace',
  'max-channels',
  'max-listeners',
  'redis',
);

/** Turns the parsed flags into server options; a bad value throws a UsageError. */
export function serverOptionsFromFlags(values: {
  history?: string;
  'history-bytes'?: string;
  'watch-grace'?: string;
  'max-channels'?: string;
  'max-listeners'?: string;
  redis?: string;
}): MemoryStoreOptions {
  const options: MemoryStoreOptions = {};
  const history = nonNegativeInt(values.history, '--history');
  if (history !== undefined) options.history = history;
  const historyBytes = nonNegativeInt(values['history-bytes'], '--history-bytes');
  if (historyBytes !== undefined) options.historyBytes = historyBytes;
  const grace = nonNegativeInt(values['watch-grace'], '--watch-grace');
  if (grace !== undefined && grace > MAX_WATCH_GRACE_MS)
    throw new UsageError(`--watch-grace takes at most ${MAX_WATCH_GRACE_MS} ms, not ${grace}`);
  if (grace !== undefined) options.watchGraceMs = grace;
  const maxChannels = positiveInt(values['max-channels'], '--max-channels');
  const maxListeners = positiveInt(values['max-listeners'], '--max-listeners');
  // Named as given: a user who gave one limit would look for the other in the command line.
  const limits = Object.entries({ '--max-channels': maxChannels, '--max-listeners': maxListeners })
    .filter(([, limit]) => limit !== undefined)
    .map(([flag]) => flag);
  if (limits.length > 0 && values.redis !== undefined)
    throw new UsageError(
      `${limits.join(' and ')} ${limits.length > 1 ? 'limit' : 'limits'} channels in memory, not in Redis ` +
        "(there, Redis's maxmemory is the budget)",
    );
  if (maxChannels !== undefined) options.maxChannels = maxChannels;
  if (maxListeners !== undefined) options.maxListeners = maxListeners;
  return options;
}

/**
 * The store the flags name: the one `--redis` names, connected (with the history and grace of the
 * other flags), or channels in memory. A Redis that cannot be reached rejects with
 * `StoreUnavailable` saying so (the command exits 1).
 */
export async function storeFromFlags(
  values: { redis?: string },
  { logger, ...options }: { logger: ServerLogger } & MemoryStoreOptions,
): Promise<ChannelStore> {
  const url = values.redis;
  if (url === undefined) return new MemoryStore(options);
  if (!/^rediss?:\/\/./.test(url) && !url.startsWith('/'))
    throw new UsageError(
      `--redis takes redis://HOST:PORT[/DB] (rediss:// for TLS) or a socket path, not '${redactRedisUrl(url)}'`,
    );
  // Loaded only when asked for: the in-memory default does not load the Redis client.
  const { RedisStore } = await import('../store/redis.js');
  const { history, historyBytes, watchGraceMs } = options;
  return RedisStore.connect(url, { logger, history, historyBytes, watchGraceMs });
}
