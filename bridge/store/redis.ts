/**
 * Channels in Redis (docs/protocol.md, "Channels in Redis"): several servers on one Redis share
 * every channel, listener, queue and history, and a server that dies loses nothing. The data model
 * is in `redis-scripts.ts`.
 */
import type { ConnectionOptions } from 'node:tls';
import type { Redis, RedisOptions } from 'ioredis';
import {
  InvalidChannelException,
  InvalidListenerException,
  MESSAGE_TYPE_CLOSED,
  MESSAGE_TYPE_GAP,
  type Message,
  StoreUnavailable,
} from '../../src/index.js';
import { eventHead, formatEvent } from '../../src/wire/socket-protocol.js';
import { createLogger, type ServerLogger } from '../log.js';
import { metrics } from '../metrics/metrics.js';
import { loadRedis } from '../peers.js';
import { idOf, listenerOfId, numberOfId } from './history.js';
import { SCRIPTS, type ScriptName, scriptSource } from './redis-scripts.js';
import { checkRedisUrl, redactRedisUrl } from './redis-url.js';
import {
  type ChannelStore,
  checkStoreSettings,
  DEFAULT_HISTORY,
  DEFAULT_HISTORY_BYTES,
  DEFAULT_WATCH_GRACE_MS,
  type EventFeed,
  type FeedOptions,
  type FeedStep,
  MAX_WATCH_GRACE_MS,
  type StoreStatus,
} from './store.js';

/** Options of a {@link RedisStore}. */
export interface RedisStoreOptions {
  /** Prefix of every key, so several buses can share one Redis database (default `eric-bus:`). */
  prefix?: string;
  /** Delivered events each listener keeps, so a stream resumed with `i` replays them (default 1000; 0: none). */
  history?: number;
  /**
   * Besides those, each listener keeps the events of its newest `historyBytes` delivered, what a
   * consumer that leaves can leave in flight (default 1 MiB, see {@link DEFAULT_HISTORY_BYTES}; 0: none).
   */
  historyBytes?: number;
  /** How long a watch's listener outlives its stream, waiting for a resume, in ms (default 60 000; 0: none). */
  watchGraceMs?: number;
  /**
   * How long an open watch's listener is kept in Redis without word from its server, in ms: the
   * server renews it every third of this, and once a server dies (no clean end, no renewal) its
   * watches go this long plus the grace period after the last renewal, removed by any live server.
   * Longer rides out longer Redis outages (a renewal that cannot reach Redis is retried at the
   * next one); shorter lets a dead server's watches go sooner.
   * @default 10000
   */
  watchLeaseMs?: number;
  /**
   * How long {@link RedisStore.connect} waits for Redis to answer, in ms: a Redis that takes the
   * connection but never replies (a wrong port, a stopped process) is a `StoreUnavailable` then,
   * not a start-up that hangs.
   * @default 5000
   */
  connectTimeoutMs?: number;
  /** The `retry` of every event, in ms (eric-sse's default: 5). */
  retryTimeoutMilliseconds?: number;
  /** Where to report losing and regaining Redis; quiet by default. */
  logger?: ServerLogger;
  /** Options passed on to ioredis (TLS, password, …); the store sets its own reconnection and queueing. */
  redis?: RedisConnectionOptions;
}

/**
 * ioredis's own options (its `RedisOptions`), passed on as they are. Typed here by shape, so these
 * declarations need no ioredis (an optional peer dependency, for Redis users only): the usual ones
 * by name, any other ioredis option as ioredis takes it; an ioredis `RedisOptions` fits as it is.
 */
export interface RedisConnectionOptions {
  username?: string;
  password?: string;
  /** The database number; a `/DB` in the URL says the same. */
  db?: number;
  /** TLS options (a `rediss://` URL turns TLS on with the defaults). */
  tls?: ConnectionOptions;
  connectionName?: string;
  // biome-ignore lint/suspicious/noExplicitAny: only `any` lets an ioredis RedisOptions (an interface) fit
  [option: string]: any;
}

/** The longest pause between two attempts to reach a lost Redis (ms). */
const MAX_RECONNECT_DELAY_MS = 2000;
/** Most events read from Redis at once for one stream. */
const MAX_READ = 1000;
/** How many socket buffers' worth a stream reads from Redis at once. */
const READ_AHEAD = 4;
/** Most expired watches removed by one sweep (a sweep goes on until none are left). */
const SWEEP_BATCH = 100;
/** How long an open watch is kept without word from its server, by default (ms). */
export const DEFAULT_WATCH_LEASE_MS = 10_000;
/** How long connecting waits for Redis to answer, by default (ms). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** Most watches renewed by one script call (one call per this many). */
const RENEW_BATCH = 1000;

type Script = (...args: (string | number)[]) => Promise<unknown>;

/** An error of ioredis, with the command that got it when Redis replied with an error. */
type CommandError = Error & { command?: { name?: string; args?: unknown[] } };

/**
 * A {@link ChannelStore} in Redis, through ioredis. Commands run as Lua scripts (one round trip
 * each, whatever the number of listeners); each stream reads its listener's Redis Stream with a
 * blocking XREAD on a connection of its own, only when its socket can take more.
 *
 * Redis trouble: a command while Redis is unreachable fails at once with {@link StoreUnavailable}
 * (an acknowledged command was written to Redis); streams wait and go on where they were once
 * Redis is back (they end with the closed event if their listener did not survive); the store
 * reconnects by itself.
 */
export class RedisStore implements ChannelStore {
  /** Able to serve while its command connection to Redis is up. */
  status(): StoreStatus {
    return { kind: 'redis', ok: this.#commands.status === 'ready' };
  }

  /**
   * Events queued and not yet delivered, over every listener of this Redis and prefix (every
   * server on it reports the same number): one GET of the count the scripts keep. Undefined while
   * Redis is unreachable.
   */
  async waiting(): Promise<number | undefined> {
    if (this.#commands.status !== 'ready') return undefined;
    const count = await this.#commands.get(this.#key('waiting')).catch(() => null);
    // Queues filled before a version that kept the count are not in it: it never reads below 0.
    return count === null ? undefined : Math.max(0, Number(count));
  }

  readonly #commands: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #history: number;
  readonly #historyBytes: number;
  readonly #graceMs: number;
  readonly #connectTimeoutMs: number;
  /** How long a watch's listener stays once renewed: the lease, then the grace period. */
  readonly #leaseTtlMs: number;
  /** Renews this server's watches and sweeps everyone's expired ones, now and then. */
  readonly #leaseTimer: NodeJS.Timeout;
  readonly #retry: number;
  readonly #logger: ServerLogger;
  readonly #closedPrefix: string;
  /** The open streams of this server, by listener id. */
  readonly #feeds = new Map<string, RedisFeed>();
  /** The stream of each listener asked for last here, until it is open (or refused). */
  readonly #opening = new Map<string, Promise<unknown>>();
  /** Streams of this server that ended and are still telling Redis what they delivered, by listener id. */
  readonly #settling = new Map<string, Promise<void>>();
  readonly #graceTimers = new Set<NodeJS.Timeout>();
  #closed = false;

  private constructor(commands: Redis, subscriber: Redis, options: RedisStoreOptions) {
    this.#commands = commands;
    this.#subscriber = subscriber;
    this.#prefix = options.prefix ?? 'eric-bus:';
    this.#history = options.history ?? DEFAULT_HISTORY;
    this.#historyBytes = options.historyBytes ?? DEFAULT_HISTORY_BYTES;
    this.#graceMs = options.watchGraceMs ?? DEFAULT_WATCH_GRACE_MS;
    checkStoreSettings(this.#history, this.#graceMs, this.#historyBytes);
    const lease = options.watchLeaseMs ?? DEFAULT_WATCH_LEASE_MS;
    if (!(Number.isSafeInteger(lease) && lease >= 30 && lease <= MAX_WATCH_GRACE_MS))
      throw new RangeError(`watchLeaseMs is a duration in ms from 30 to ${MAX_WATCH_GRACE_MS}, not ${lease}`);
    this.#leaseTtlMs = lease + this.#graceMs;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    // Unref'd: the lease keeps no process alive; several renewals fit in a lease, so one that
    // is late or fails (Redis away a moment) costs nothing.
    this.#leaseTimer = setInterval(() => void this.#renew(), Math.floor(lease / 3));
    this.#leaseTimer.unref();
    this.#retry = options.retryTimeoutMilliseconds ?? 5;
    this.#logger = options.logger ?? createLogger();
    this.#closedPrefix = eventHead({ event: MESSAGE_TYPE_CLOSED, retry: this.#retry, data: null });
    for (const [name, lua] of Object.keys(SCRIPTS).map((n) => [n, scriptSource(n as ScriptName)] as const))
      commands.defineCommand(name, { numberOfKeys: 0, lua });
    subscriber.on('message', (_channel: string, text: string) => this.#onSuperseded(text));
  }

  /**
   * Connects to Redis at `url` (`redis://HOST:PORT[/DB]`, `rediss://` for TLS, or a Unix socket
   * path); rejects with {@link StoreUnavailable} when Redis cannot be reached now, does not answer
   * within `connectTimeoutMs`, or has no database DB; with a `StartError` when ioredis is not
   * installed (`RedisStore needs ioredis: npm install ioredis`).
   */
  static async connect(url: string, options: RedisStoreOptions = {}): Promise<RedisStore> {
    checkRedisUrl(url, 'RedisStore.connect');
    const logger = options.logger ?? createLogger();
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    if (!(Number.isSafeInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= MAX_WATCH_GRACE_MS))
      throw new RangeError(`connectTimeoutMs is a duration in ms from 1 to ${MAX_WATCH_GRACE_MS}, not ${timeoutMs}`);
    const Redis = await loadRedis();
    const where = redactRedisUrl(url);
    let ready = false;
    const base: RedisOptions = {
      ...options.redis,
      lazyConnect: true,
      protocol: 2,
      // Reconnect for ever once it worked; a Redis that cannot be reached at start is an error now.
      retryStrategy: (times) => (ready ? Math.min(times * 50, MAX_RECONNECT_DELAY_MS) : null),
    };
    // Commands fail fast while Redis is away, and are never sent twice (a dispatch must not be
    // doubled): those in flight when the connection drops are rejected at once (no retry).
    const commands = new Redis(url, {
      ...base,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      enableAutoPipelining: true,
    });
    const subscriber = commands.duplicate({ ...base, enableOfflineQueue: true, maxRetriesPerRequest: null });
    // What went wrong at the socket level ("Connection is closed" alone would not say).
    let cause: unknown;
    // ioredis reports a failed SELECT as an error event and goes on, in database 0.
    let badDatabase: CommandError | undefined;
    for (const [name, connection] of [
      ['commands', commands],
      ['subscriber', subscriber],
    ] as const) {
      connection.on('error', (error: CommandError) => {
        if (ready) logger.info(`redis ${name} connection: ${error.message}`);
        else if (error.command?.name === 'select') badDatabase ??= error;
        else cause ??= error;
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreUnavailable(`Redis at ${where} did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([commands.connect().then(() => subscriber.connect()), timedOut]);
      if (badDatabase !== undefined)
        throw new StoreUnavailable(
          `Redis at ${where} has no database ${badDatabase.command?.args?.[0]} (${badDatabase.message})`,
        );
    } catch (error) {
      clearTimeout(timer);
      commands.disconnect();
      subscriber.disconnect();
      if (error instanceof StoreUnavailable) throw error;
      throw new StoreUnavailable(`Cannot reach Redis at ${where}: ${describe(cause ?? error)}`);
    }
    ready = true;
    // Losing Redis and getting it back are said once each, verbose or not.
    let lost = false;
    commands.on('close', () => {
      if (lost) return;
      lost = true;
      logger.error(`redis at ${where} lost; commands are refused until it is back, reconnecting`);
    });
    commands.on('ready', () => {
      if (!lost) return;
      lost = false;
      logger.error(`redis at ${where} is back`);
    });
    const store = new RedisStore(commands, subscriber, { ...options, logger });
    try {
      await Promise.race([subscriber.subscribe(store.#key('superseded')).then(() => store.#sweep()), timedOut]);
    } catch (error) {
      // Not close(): its QUIT would wait on a Redis that does not answer.
      store.#closed = true;
      clearInterval(store.#leaseTimer);
      commands.removeAllListeners('close');
      commands.disconnect();
      subscriber.disconnect();
      throw error instanceof StoreUnavailable
        ? error
        : new StoreUnavailable(`Redis at ${where} failed: ${describe(error)}`);
    } finally {
      clearTimeout(timer);
    }
    return store;
  }

  createChannel(owner?: string): Promise<string> {
    return this.#run('ericCreate', owner ?? '') as Promise<string>;
  }

  ownerOf(channelId: string): Promise<string> {
    return this.#run('ericOwner', channelId) as Promise<string>;
  }

  addListener(channelId: string): Promise<string> {
    return this.#run('ericRegister', channelId, 0, 0) as Promise<string>;
  }

  dispatch(channelId: string, listenerId: string, msg: Message): Promise<void> {
    return this.#run('ericDispatch', channelId, listenerId, this.#lineOf(msg)).then(noop);
  }

  broadcast(channelId: string, msg: Message): Promise<void> {
    return this.#run('ericBroadcast', channelId, this.#lineOf(msg)).then(noop);
  }

  removeListener(channelId: string, listenerId: string): Promise<void> {
    return this.#run('ericRemoveListener', channelId, listenerId, this.#closedPrefix).then(noop);
  }

  removeChannel(channelId: string): Promise<void> {
    return this.#run('ericRemoveChannel', channelId, this.#closedPrefix).then(noop);
  }

  listen(channelId: string, listenerId: string, options: FeedOptions = {}): Promise<EventFeed> {
    return this.#inTurn(listenerId, () =>
      this.#withConnection((connection) => this.#open(connection, channelId, listenerId, options.lastEventId, false)),
    );
  }

  watch(channelId: string, options: FeedOptions = {}): Promise<EventFeed> {
    const resumed = options.lastEventId === undefined ? undefined : listenerOfId(options.lastEventId);
    const open = () =>
      this.#withConnection(async (connection) => {
        if (resumed !== undefined) {
          try {
            return await this.#open(connection, channelId, resumed, options.lastEventId, true);
          } catch (error) {
            // A watch that is gone (or an id that names none) gives a new watch, whose stream starts with a gap.
            if (!(error instanceof InvalidListenerException)) throw error;
          }
        }
        const listenerId = (await this.#run('ericRegister', channelId, 1, this.#leaseTtlMs)) as string;
        return this.#open(connection, channelId, listenerId, options.lastEventId, true);
      });
    return resumed === undefined ? open() : this.#inTurn(resumed, open);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#leaseTimer);
    for (const timer of this.#graceTimers) clearTimeout(timer);
    for (const feed of [...this.#feeds.values()]) feed.interrupt('stopped');
    // The feeds' last words (a watch's grace period) go out before the connection closes.
    await Promise.allSettled([...this.#feeds.values()].map((feed) => feed.closing));
    this.#subscriber.disconnect();
    // Closing is not losing Redis: nothing to say about it.
    this.#commands.removeAllListeners('close');
    await this.#commands.quit().catch(() => this.#commands.disconnect());
  }

  /** The Redis key (or pub/sub channel) `name` under this store's prefix. */
  #key(name: string): string {
    return this.#prefix + name;
  }

  #lineOf(msg: Message): string {
    return eventHead({ event: msg.type, retry: this.#retry, data: msg.payload });
  }

  /** Runs a script; its errors come back as the library's typed errors. */
  #run(name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
    const script = (this.#commands as unknown as Record<ScriptName, Script>)[name];
    const reply = script.call(this.#commands, this.#prefix, ...args).catch((error: unknown) => {
      metrics?.redis(true);
      throw this.#typed(error, args);
    });
    if (metrics !== undefined)
      void reply.then(
        () => metrics?.redis(false),
        () => {},
      );
    return reply;
  }

  #typed(error: unknown, args: readonly (string | number)[]): Error {
    const message = describe(error);
    // The scripts' own error replies (Redis may put a generic code in front).
    const code = /\bERIC_(NOCHANNEL|NOLISTENER|NOWATCH)\b/.exec(message)?.[1];
    if (code === 'NOCHANNEL') return new InvalidChannelException(`No channel with id ${args[0]}`);
    if (code !== undefined) return new InvalidListenerException(`Invalid listener ${args[1]}`);
    if (this.#commands.status !== 'ready')
      return new StoreUnavailable(`Redis is unreachable (${this.#commands.status}); try again`);
    return new StoreUnavailable(`Redis failed: ${message}`);
  }

  /**
   * Opens one listener's streams in the order they were asked for. Each gets a connection of its own
   * first, and one connection may be ready before another: a later stream that took the listener
   * over first would then be superseded by the earlier one (say, one its client cancelled at once).
   */
  #inTurn(listenerId: string, open: () => Promise<EventFeed>): Promise<EventFeed> {
    const previous = this.#opening.get(listenerId);
    const opened = previous === undefined ? open() : previous.then(open);
    const turn = opened.catch(noop);
    this.#opening.set(listenerId, turn);
    void turn.then(() => {
      if (this.#opening.get(listenerId) === turn) this.#opening.delete(listenerId);
    });
    return opened;
  }

  /**
   * Opens a stream on a Redis connection of its own, got first: a stream that cannot have one is
   * refused before it takes its listener over (the older stream, if any, goes on).
   */
  async #withConnection(open: (connection: Redis) => Promise<EventFeed>): Promise<EventFeed> {
    const connection = await this.#streamConnection();
    try {
      return await open(connection);
    } catch (error) {
      connection.disconnect();
      throw error;
    }
  }

  /**
   * A new connection for a stream, ready; or {@link StoreUnavailable} saying why not. Past Redis's
   * maxclients, Redis takes the connection, says so and closes it: left to itself, ioredis would
   * try again for ever and the stream would wait without a word.
   */
  async #streamConnection(): Promise<Redis> {
    const connection = this.#commands.duplicate({
      enableOfflineQueue: true,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: null,
      enableAutoPipelining: false,
    });
    let cause: unknown;
    connection.on('error', (error: Error) => void (cause ??= error));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        connection.connect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${this.#connectTimeoutMs} ms`)),
            this.#connectTimeoutMs,
          );
        }),
      ]);
    } catch (error) {
      connection.disconnect();
      throw await this.#refused(cause ?? error);
    } finally {
      clearTimeout(timer);
    }
    // From now on the feed deals with losing Redis (it waits for it to come back).
    connection.removeAllListeners('error');
    connection.on('error', noop);
    return connection;
  }

  /** Why a stream got no connection, as a StoreUnavailable; said in the log too when Redis is up. */
  async #refused(cause: unknown): Promise<StoreUnavailable> {
    if (this.#commands.status !== 'ready')
      return new StoreUnavailable(`Redis is unreachable (${this.#commands.status}); try again`);
    let why = describe(cause);
    // The reason Redis gives is often lost (it closes at once, and ioredis reports the broken pipe).
    const info = await this.#commands.info('clients').catch(() => '');
    const max = /maxclients:(\d+)/.exec(info)?.[1];
    const connected = Number(/connected_clients:(\d+)/.exec(info)?.[1]);
    if (/max number of clients/i.test(why) || (max !== undefined && connected >= Number(max)))
      why = `max number of clients reached${max === undefined ? '' : ` (maxclients ${max})`}`;
    const error = new StoreUnavailable(`Redis refused the stream a connection of its own: ${why}`);
    this.#logger.error(error.message);
    return error;
  }

  async #open(
    connection: Redis,
    channelId: string,
    listenerId: string,
    after: string | undefined,
    watch: boolean,
  ): Promise<EventFeed> {
    // A stream of this listener that just ended here (after its `n` events, say) may still be
    // telling Redis what it delivered: this one begins after that.
    await this.#settling.get(listenerId);
    const [own, cur, cut, seq, isWatch] = (await this.#run(
      'ericOpen',
      channelId,
      listenerId,
      watch ? 1 : 0,
      this.#leaseTtlMs,
    )) as number[];
    // Resuming: after a number this listener's stream carried, unless it left the history (then a gap first).
    let from = cur!;
    let gap: string | undefined;
    if (after !== undefined) {
      const n = listenerOfId(after) === listenerId ? numberOfId(after) : undefined;
      if (n !== undefined && n >= cut! && n <= seq!) from = n;
      else {
        from = cut!;
        metrics?.gap();
        gap = formatEvent({ event: MESSAGE_TYPE_GAP, retry: this.#retry, data: { after } }, idOf(listenerId, cut!));
      }
    }
    const feed = new RedisFeed(this.#host, {
      channelId,
      listenerId,
      own: own!,
      from,
      delivered: cur!,
      gap,
      // A watch's listener, even streamed with `l`: its lease is renewed and released the same.
      watch: isWatch === 1,
      connection,
      key: this.#key(`q:${listenerId}`),
    });
    this.#feeds.get(listenerId)?.interrupt('superseded');
    this.#feeds.set(listenerId, feed);
    // A client that resumes after events a dead server wrote confirms them: they count as delivered.
    if (from > cur!) feed.advance(from);
    return feed;
  }

  #onSuperseded(text: string): void {
    const [listenerId, own] = text.split(' ');
    const feed = this.#feeds.get(listenerId!);
    if (feed && feed.own < Number(own)) feed.interrupt('superseded');
  }

  /**
   * Renews the lease of every open watch of this server (one script call per {@link RENEW_BATCH}),
   * then sweeps: this is what removes the watches of a server that died, on any live server.
   */
  async #renew(): Promise<void> {
    const pairs = [...this.#feeds.values()].filter((feed) => feed.watch).flatMap((feed) => [feed.listenerId, feed.own]);
    try {
      for (let i = 0; i < pairs.length; i += 2 * RENEW_BATCH)
        await this.#run('ericRenew', this.#leaseTtlMs, ...pairs.slice(i, i + 2 * RENEW_BATCH));
      await this.#sweep();
    } catch (error) {
      // Redis away: the next round tries again, well within the lease.
      this.#logger.info(`watch leases not renewed: ${describe(error)}`);
    }
  }

  /** Removes watches whose grace period is over (a bounded number of rounds). */
  async #sweep(): Promise<void> {
    for (let round = 0; round < 100; round++) {
      const removed = (await this.#run('ericSweep', this.#closedPrefix, SWEEP_BATCH)) as number;
      if (removed < SWEEP_BATCH) return;
    }
  }

  /** What the feeds of this store ask of it. */
  readonly #host: FeedHost = {
    closedPrefix: () => this.#closedPrefix,
    advance: (listenerId, own, to, bytes) =>
      this.#run('ericAdvance', listenerId, own, to, this.#history, bytes, this.#historyBytes) as Promise<number>,
    // On the stream's own connection, which waits for Redis to come back.
    status: (connection, channelId, listenerId, own) =>
      connection.eval(scriptSource('ericStatus'), 0, this.#prefix, channelId, listenerId, own) as Promise<number>,
    released: (feed, superseded) => this.#released(feed, superseded),
  };

  /**
   * A feed ended: forget it once Redis knows what it delivered (a next stream of its listener here
   * waits for that); a watch's listener then waits its grace period for a resume, and goes.
   */
  async #released(feed: RedisFeed, superseded: boolean): Promise<void> {
    const id = feed.listenerId;
    if (this.#feeds.get(id) === feed) this.#feeds.delete(id);
    const settling = feed.settled().catch((error: unknown) => {
      // Redis is away: a stream opened meanwhile may write the last events again.
      this.#logger.info(`deliveries of listener ${id} not recorded: ${describe(error)}`);
    });
    this.#settling.set(id, settling);
    await settling;
    if (this.#settling.get(id) === settling) this.#settling.delete(id);
    if (!feed.watch || superseded) return;
    try {
      await this.#run('ericRelease', feed.listenerId, feed.own, this.#graceMs, this.#closedPrefix);
    } catch (error) {
      // Redis is away: some server's sweep removes the watch once Redis is back and the grace is over.
      this.#logger.info(`watch of listener ${feed.listenerId} not released: ${describe(error)}`);
      return;
    }
    if (this.#graceMs === 0 || this.#closed) return;
    const timer = setTimeout(() => {
      this.#graceTimers.delete(timer);
      void this.#sweep().catch(() => {});
    }, this.#graceMs + 10);
    timer.unref();
    this.#graceTimers.add(timer);
  }
}

/** What a feed needs from its store. */
interface FeedHost {
  /** The closed event's line prefix. */
  closedPrefix(): string;
  /** Records that a stream delivered up to event `to`; 1, 0 when superseded, -1 when the listener is gone. */
  advance(listenerId: string, own: number, to: number, bytes: number): Promise<number>;
  /** After losing Redis: 1 while the stream still owns the listener, 0 when superseded, -1 when it is gone. */
  status(connection: Redis, channelId: string, listenerId: string, own: number): Promise<number>;
  /** The feed closed (`superseded`: by a newer stream of its listener). */
  released(feed: RedisFeed, superseded: boolean): Promise<void>;
}

interface RedisFeedInit {
  channelId: string;
  listenerId: string;
  own: number;
  /** Read events after this number. */
  from: number;
  /** The newest delivered event, as Redis knows it. */
  delivered: number;
  /** The gap line to write first, if any. */
  gap: string | undefined;
  watch: boolean;
  connection: Redis;
  key: string;
}

/** One stream of a listener in Redis: blocking reads of its Redis Stream, and its delivery mark moved after writes. */
class RedisFeed implements EventFeed {
  readonly delayMs = 0;
  readonly listenerId: string;
  readonly own: number;
  readonly watch: boolean;
  readonly #store: FeedHost;
  readonly #channelId: string;
  readonly #connection: Redis;
  readonly #key: string;
  readonly #idPrefix: string;
  readonly #control = new AbortController();
  #gap: string | undefined;
  /** Events up to this number were written by this stream (or before it). */
  #position: number;
  /** The newest event delivered, as far as this stream knows. */
  #delivered: number;
  /** Whether Redis may not know the newest delivery yet (an update failed). */
  #unsaved = false;
  /** Whether an update of the delivery mark is on its way. */
  #advancing = false;
  /** The update on its way, settled (either way) once it is answered. */
  #advanced: Promise<void> = Promise.resolve();
  /** The newest delivery an update told Redis of and Redis answered. */
  #told: number;
  /** The newest event of the last step, not yet written. */
  #pending = 0;
  /** Average line length so far, to read about as many events as the socket has room for. */
  #lineLength = 128;
  /** The bytes of the event lines (less their ids) of the last step, and of those written but not yet told to Redis. */
  #pendingBytes = 0;
  #unsavedBytes = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(store: FeedHost, init: RedisFeedInit) {
    this.#store = store;
    this.listenerId = init.listenerId;
    this.own = init.own;
    this.watch = init.watch;
    this.#channelId = init.channelId;
    this.#connection = init.connection;
    this.#key = init.key;
    // `,"id":"<listener>:` — each line ends with its number, `"}` and a newline.
    this.#idPrefix = `,"id":${JSON.stringify(idOf(init.listenerId, 0)).slice(0, -2)}`;
    this.#gap = init.gap;
    this.#position = init.from;
    this.#pending = init.from;
    this.#delivered = init.delivered;
    this.#told = init.delivered;
  }

  get interrupted(): AbortSignal {
    return this.#control.signal;
  }

  /** Resolves once the feed has let go of everything (after {@link close}). */
  get closing(): Promise<void> {
    return this.#closing ?? Promise.resolve();
  }

  interrupt(end: 'superseded' | 'stopped'): void {
    this.#control.abort(end);
  }

  next(room: number, max = Infinity): FeedStep | Promise<FeedStep> {
    if (this.#gap !== undefined) {
      const lines = this.#gap;
      this.#gap = undefined;
      this.#pending = this.#position;
      this.#pendingBytes = 0;
      return { lines };
    }
    // About what the socket has room for, a few times over: a round trip to Redis costs more than
    // a socket's buffer, and the pump still writes only while the socket takes it.
    // Never more than the stream asks for: what is read counts as taken once written.
    const count = Math.max(1, Math.min(MAX_READ, Math.floor((READ_AHEAD * room) / this.#lineLength)));
    return this.#read(Math.min(count, max));
  }

  async #read(count: number): Promise<FeedStep> {
    // Bounded: each round either reads, or waited for Redis to come back.
    for (let attempt = 0; ; attempt++) {
      let reply: [string, [string, string[]][]][] | null;
      try {
        if (this.#unsaved) await this.#save();
        reply = (await this.#untilLost(
          this.#connection.xread('COUNT', count, 'BLOCK', 0, 'STREAMS', this.#key, this.#position),
        )) as typeof reply;
      } catch (error) {
        if (this.#closed) return new Promise(() => {});
        metrics?.redis(true);
        // Redis went away: wait for it (the connection reconnects by itself), then see whether
        // this stream may go on where it was.
        const status = await this.#store.status(this.#connection, this.#channelId, this.listenerId, this.own);
        if (status === 0) return { end: 'superseded' };
        if (status < 0) return this.#closedStep();
        if (attempt > 1000) throw error;
        continue;
      }
      metrics?.redis(false);
      if (reply === null) continue;
      const entries = reply[0]![1];
      let lines = '';
      let last = this.#position;
      let bytes = 0;
      for (const [id, fields] of entries) {
        const n = numberOfEntry(id);
        // The last entry of a removed listener: its closed event, which ends the stream.
        if (fields.length > 2) return { lines: lines + fields[1] + this.#idPrefix + n + '"}\n', end: 'closed' };
        lines += fields[1] + this.#idPrefix + n + '"}\n';
        bytes += Buffer.byteLength(fields[1]!);
        last = n;
      }
      this.#pending = last;
      this.#pendingBytes = bytes;
      this.#lineLength = Math.max(16, Math.round(lines.length / Math.max(1, entries.length)));
      return { lines };
    }
  }

  /**
   * `reply`, or a rejection when the connection drops first: ioredis drops a command in flight at
   * a disconnect (it is not sent again) without settling it.
   */
  #untilLost<T>(reply: Promise<T>): Promise<T> {
    const connection = this.#connection;
    let onClose!: () => void;
    const lost = new Promise<never>((_, reject) => {
      onClose = () => reject(new Error('Redis connection lost'));
      connection.once('close', onClose);
    });
    reply.catch(() => {});
    return Promise.race([reply, lost]).finally(() => connection.off('close', onClose));
  }

  #closedStep(): FeedStep {
    return { lines: this.#store.closedPrefix() + this.#idPrefix + (this.#position + 1) + '"}\n', end: 'closed' };
  }

  written(): void {
    this.#position = this.#pending;
    this.#unsavedBytes += this.#pendingBytes;
    this.#pendingBytes = 0;
    if (this.#position > this.#delivered) this.advance(this.#position);
  }

  unwritten(): void {
    this.#pending = this.#position;
    this.#pendingBytes = 0;
  }

  /**
   * Tells Redis that events up to `to` were delivered. Not awaited (the next read does not depend
   * on it), and at most one at a time: while one is on its way, later ones merge into the next.
   */
  advance(to: number): void {
    this.#delivered = to;
    if (this.#advancing) return;
    this.#advancing = true;
    const bytes = this.#unsavedBytes;
    this.#unsavedBytes = 0;
    this.#advanced = this.#store.advance(this.listenerId, this.own, to, bytes).then(
      (result) => {
        this.#advancing = false;
        this.#told = Math.max(this.#told, to);
        // A newer stream owns the listener (its notice may have been missed): this one ends.
        if (result === 0) this.interrupt('superseded');
        else if (this.#delivered > to) this.advance(this.#delivered);
      },
      () => {
        this.#advancing = false;
        this.#unsaved = true;
        this.#unsavedBytes += bytes;
      },
    );
  }

  /**
   * Resolves once Redis was told of every delivery this stream wrote so far: an update on its way
   * is waited for (and the one it chains for later deliveries), one that failed is made again;
   * rejects when Redis cannot take it.
   */
  async settled(): Promise<void> {
    const target = this.#delivered;
    // Bounded: each round waits for an answer from Redis, and the update chained after one in
    // flight covers every delivery so far; a failed one is retried once, then rejects.
    for (let round = 0; this.#told < target && round < 3; round++) {
      if (this.#advancing) await this.#advanced;
      else if (this.#unsaved) await this.#save();
      else this.advance(this.#delivered);
    }
  }

  async #save(): Promise<void> {
    const bytes = this.#unsavedBytes;
    this.#unsavedBytes = 0;
    const result = await this.#store
      .advance(this.listenerId, this.own, this.#delivered, bytes)
      .catch((error: unknown) => {
        this.#unsavedBytes += bytes;
        throw error;
      });
    this.#unsaved = false;
    this.#told = Math.max(this.#told, this.#delivered);
    if (result === 0) this.interrupt('superseded');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const superseded = this.#control.signal.aborted && this.#control.signal.reason === 'superseded';
    // A blocked XREAD cannot be taken back: the stream's own connection goes with it.
    this.#connection.disconnect();
    this.#closing = this.#store.released(this, superseded);
  }
}

/** The event number of a stream entry id `n-0`. */
function numberOfEntry(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

function noop(): void {}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
