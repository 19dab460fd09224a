/**
 * A DataProcessingChannel's queue on Redis Streams, shared by several processes, at least once
 * (docs/workers.md, "Work across processes"). The data model and its scripts are in `queue-scripts.ts`.
 */
import { randomBytes } from 'node:crypto';
import type { Redis, RedisOptions } from 'ioredis';
import { StoreUnavailable } from '../../src/errors.js';
import { errorText } from '../../src/workers/protocol.js';
import type {
  QueuedMessage,
  QueuedResult,
  QueueMember,
  QueueOutcome,
  WorkQueue,
} from '../../src/workers/work-queue.js';
import { createLogger, type ServerLogger } from '../log.js';
import { loadRedis } from '../peers.js';
import type { RedisConnectionOptions } from '../store/redis.js';
import { checkRedisUrl, redactRedisUrl } from '../store/redis-url.js';
import {
  QUEUE_GROUP,
  QUEUE_SCRIPTS,
  type QueueScriptName,
  queueScriptSource,
  RESULTS_TTL_MS,
} from './queue-scripts.js';

/** Options of {@link redisWorkQueue}. */
export interface RedisWorkQueueOptions {
  /**
   * How long a message stays with a process that says nothing (ms): a live process renews its
   * messages every third of this; those of a process that died, and a delivery whose handler
   * threw, go to another process (or this one) after it.
   * @default 5000
   */
  visibilityMs?: number;
  /** Deliveries without a result before a message goes to the dead letters. @default 3 */
  maxDeliveries?: number;
  /**
   * Most messages a process holds beyond those its busy workers run: more carries more messages
   * per round trip to Redis; fewer leaves more to the other processes when each message takes long.
   * @default 128
   */
  prefetch?: number;
  /** How long the first command waits for Redis to answer, in ms. @default 5000 */
  connectTimeoutMs?: number;
  /** Where to report losing and regaining Redis (errors are always shown, one line). */
  logger?: ServerLogger;
  /** Options passed on to ioredis (TLS, password, …); the queue sets its own reconnection and queueing. */
  redis?: RedisConnectionOptions;
}

/** A message in the dead-letter stream: what it was, the last error it got, and how often it was delivered. */
export interface DeadLetter {
  id: string;
  type: string;
  payload: unknown;
  error: string;
  deliveries: number;
}

/** How many messages a process holds beyond its busy workers, by default. */
export const DEFAULT_PREFETCH = 128;
/** The longest pause between two attempts at Redis while it is away (ms). */
const MAX_BACKOFF_MS = 2000;
/** Most ids renewed by one command. */
const RENEW_BATCH = 1000;
/** Most XAUTOCLAIM rounds in one sweep for dead processes' messages. */
const SWEEP_ROUNDS = 10;
/** Most results read at once. */
const RESULTS_READ = 1000;

type Entry = [entry: string, flat: string[]];
/** A message this process holds, with its place in the stream and where its result goes. */
type Held = QueuedMessage & { readonly entry: string; readonly origin: string; readonly route: string };

/**
 * A queue in Redis at `url` under the key `name`, for `new DataProcessingChannel({ maxWorkers,
 * worker, queue })`; see {@link RedisWorkQueue}. Connects at its first use.
 */
export function redisWorkQueue(url: string, name: string, options: RedisWorkQueueOptions = {}): RedisWorkQueue {
  return new RedisWorkQueue(url, name, options);
}

/**
 * A work queue on a Redis Stream and its consumer group, at least once. Every process with a
 * channel on it is a consumer of the group (named {@link consumer}); a process dispatches with
 * its channel's `dispatch`, and the outcome of each of its messages comes back on a results
 * stream of its own, whichever process ran it. Redis away: `dispatch` rejects with
 * `StoreUnavailable`; reading, renewing and storing results wait for Redis and go on.
 */
export class RedisWorkQueue implements WorkQueue {
  readonly name: string;
  /** The dead-letter stream, `<name>:dead`. */
  readonly deadLetterKey: string;
  readonly visibilityMs: number;
  readonly maxDeliveries: number;
  readonly prefetch: number;
  /** This process's name in the consumer group, which its message ids and results stream carry. */
  readonly consumer: string;
  readonly #url: string;
  readonly #options: RedisWorkQueueOptions;
  readonly #logger: ServerLogger;
  readonly #resultsKey: string;
  #commands: Promise<Redis> | undefined;
  #nextId = 0;
  #closed = false;
  readonly #onOutcome = new Set<(outcome: QueueOutcome) => void>();
  /** The blocking connections (results, and with join the work), disconnected by close. */
  readonly #blocking: Redis[] = [];
  #resultsRead = false;
  // The working side, once joined.
  #run: ((messages: readonly QueuedMessage[]) => void) | undefined;
  #limit = 0;
  readonly #held = new Map<string, Held>();
  #wakeReader: (() => void) | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  #sweeping = false;
  /** The consumer group exists (as far as this process knows): sweeping before would only get NOGROUP. */
  #group = false;
  #cursor = '0-0';

  constructor(url: string, name: string, options: RedisWorkQueueOptions = {}) {
    checkRedisUrl(url, 'redisWorkQueue');
    const { visibilityMs = 5000, maxDeliveries = 3, prefetch = DEFAULT_PREFETCH } = options;
    if (!(Number.isSafeInteger(visibilityMs) && visibilityMs >= 30))
      throw new RangeError(`visibilityMs is a duration in ms of at least 30, not ${visibilityMs}`);
    if (!(Number.isSafeInteger(maxDeliveries) && maxDeliveries >= 1))
      throw new RangeError(`maxDeliveries must be a positive integer, not ${maxDeliveries}`);
    if (!(Number.isSafeInteger(prefetch) && prefetch >= 0))
      throw new RangeError(`prefetch must be an integer of at least 0, not ${prefetch}`);
    if (name === '') throw new RangeError('a work queue needs a name');
    this.name = name;
    this.deadLetterKey = `${name}:dead`;
    this.visibilityMs = visibilityMs;
    this.maxDeliveries = maxDeliveries;
    this.prefetch = prefetch;
    this.consumer = `${process.pid}-${randomBytes(6).toString('base64url')}`;
    this.#url = url;
    this.#options = options;
    this.#logger = options.logger ?? createLogger();
    this.#resultsKey = `${name}:results:${this.consumer}`;
  }

  /** `<consumer>-<n>`: unique across the processes of the queue. */
  nextId(): string {
    return `${this.consumer}-${++this.#nextId}`;
  }

  async add({
    id,
    type,
    payload,
    route,
  }: {
    id: string;
    type: string;
    payload: unknown;
    route: string;
  }): Promise<void> {
    const fields = ['id', id, 'type', type, 'origin', this.consumer, 'route', route];
    // A payload that JSON cannot carry is a TypeError here, before anything is stored.
    if (payload !== undefined) fields.push('payload', JSON.stringify(payload));
    const commands = await this.#connection();
    this.#readResults();
    await this.#send(commands.call('XADD', this.name, '*', ...fields));
  }

  onOutcome(callback: (outcome: QueueOutcome) => void): () => void {
    this.#onOutcome.add(callback);
    return () => this.#onOutcome.delete(callback);
  }

  join(slots: number, run: (messages: readonly QueuedMessage[]) => void): QueueMember {
    if (this.#run) throw new Error(`this process has already joined work queue ${this.name}`);
    this.#run = run;
    this.#limit = slots + this.prefetch;
    void this.#readWork();
    const every = (ms: number, task: () => Promise<void>) => this.#timers.push(setInterval(() => void task(), ms));
    every(Math.floor(this.visibilityMs / 2), () => this.#sweep());
    every(Math.floor(this.visibilityMs / 3), () => this.#renew());
    return { settle: (results) => void this.#settle(results) };
  }

  /** The messages in the dead-letter stream, oldest first. */
  async deadLetters(): Promise<DeadLetter[]> {
    const entries = await this.#deadEntries();
    return entries.map(([, flat]) => {
      const f = fieldsOf(flat);
      return {
        id: f.id ?? '',
        type: f.type ?? '',
        payload: parseJson(f.payload),
        error: f.error ?? '',
        deliveries: Number(f.deliveries),
      };
    });
  }

  /**
   * Puts dead letter `id` back on the queue, with its id and a fresh count of deliveries; resolves
   * once stored. Its result goes to no process (run it for its effects, or dispatch it anew to
   * hear it). A `RangeError` when there is no such dead letter.
   */
  async redispatch(id: string): Promise<void> {
    const found = (await this.#deadEntries()).find(([, flat]) => fieldsOf(flat).id === id);
    if (!found || (await this.#script('queueRedispatch', found[0])) !== 1)
      throw new RangeError(`no dead letter with id ${id} in ${this.deadLetterKey}`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#wakeReader?.();
    for (const connection of this.#blocking) connection.disconnect();
    const commands = await this.#commands?.catch(() => undefined);
    if (!commands) return;
    // What this process holds goes to the others at their next sweep, rather than after visibilityMs.
    const held = [...this.#held.keys()];
    for (let i = 0; i < held.length; i += RENEW_BATCH) {
      const batch = held.slice(i, i + RENEW_BATCH);
      await commands
        .call('XCLAIM', this.name, QUEUE_GROUP, this.consumer, 0, ...batch, 'IDLE', this.visibilityMs, 'JUSTID')
        .catch(() => {});
    }
    this.#held.clear();
    if (this.#resultsRead) await commands.call('DEL', this.#resultsKey).catch(() => {});
    commands.removeAllListeners('close');
    await commands.quit().catch(() => commands.disconnect());
  }

  /** The command connection: fails fast while Redis is away, never sends a command twice. */
  #connection(): Promise<Redis> {
    if (this.#closed) return Promise.reject(new StoreUnavailable(`work queue ${this.name} is closed`));
    this.#commands ??= this.#open().catch((error: unknown) => {
      this.#commands = undefined; // the next command tries again
      throw error;
    });
    return this.#commands;
  }

  async #open(): Promise<Redis> {
    const Redis = await loadRedis('redisWorkQueue');
    const where = redactRedisUrl(this.#url);
    const timeoutMs = this.#options.connectTimeoutMs ?? 5000;
    let ready = false;
    const commands = new Redis(this.#url, {
      ...this.#options.redis,
      lazyConnect: true,
      protocol: 2,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      enableAutoPipelining: true,
      retryStrategy: (times: number) => (ready ? Math.min(times * 50, MAX_BACKOFF_MS) : null),
    } as RedisOptions);
    let cause: unknown;
    commands.on('error', (error: Error) => {
      if (ready) this.#logger.info(`redis work queue ${this.name}: ${error.message}`);
      else cause ??= error;
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        commands.connect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      commands.disconnect();
      throw new StoreUnavailable(`Cannot reach Redis at ${where}: ${errorText(cause ?? error)}`);
    } finally {
      clearTimeout(timer);
    }
    ready = true;
    let lost = false;
    commands.on('close', () => {
      if (!lost) this.#logger.error(`redis at ${where} lost; work queue ${this.name} waits for it`);
      lost = true;
    });
    commands.on('ready', () => {
      if (lost) this.#logger.error(`redis at ${where} is back; work queue ${this.name} goes on`);
      lost = false;
    });
    for (const name of Object.keys(QUEUE_SCRIPTS) as QueueScriptName[])
      commands.defineCommand(name, { numberOfKeys: 0, lua: queueScriptSource(name) });
    return commands;
  }

  /** A connection of its own for blocking reads: queues while Redis is away, resends what was in flight. */
  async #blockingConnection(): Promise<Redis> {
    const commands = await this.#connection();
    // Resending a read is safe: one whose reply was lost left its messages pending, taken again after visibilityMs.
    const connection = commands.duplicate({
      enableOfflineQueue: true,
      autoResendUnfulfilledCommands: true,
      maxRetriesPerRequest: null,
      lazyConnect: false,
    });
    connection.on('error', () => {}); // said once by the command connection
    this.#blocking.push(connection);
    if (this.#closed) connection.disconnect();
    return connection;
  }

  #send<T>(command: Promise<T>): Promise<T> {
    return command.catch((error: unknown) => {
      throw new StoreUnavailable(`work queue ${this.name}: Redis at ${redactRedisUrl(this.#url)}: ${errorText(error)}`);
    });
  }

  async #script(name: QueueScriptName, ...args: (string | number)[]): Promise<unknown> {
    const commands = await this.#connection();
    const script = (commands as unknown as Record<QueueScriptName, (...a: (string | number)[]) => Promise<unknown>>)[
      name
    ];
    return this.#send(script.call(commands, this.name, QUEUE_GROUP, RESULTS_TTL_MS, ...args));
  }

  async #deadEntries(): Promise<Entry[]> {
    const commands = await this.#connection();
    return (await this.#send(commands.call('XRANGE', this.deadLetterKey, '-', '+'))) as Entry[];
  }

  /** Reads this process's results stream for as long as the queue is open, each outcome to the callbacks. */
  #readResults(): void {
    if (this.#resultsRead) return;
    this.#resultsRead = true;
    void this.#loop(
      () => this.#blockingConnection(),
      async (connection, state: { last: string }) => {
        const reply = (await connection.call(
          'XREAD',
          'COUNT',
          RESULTS_READ,
          'BLOCK',
          0,
          'STREAMS',
          this.#resultsKey,
          state.last,
        )) as [string, Entry[]][] | null;
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length === 0) return;
        state.last = entries[entries.length - 1]![0];
        // Read: gone from Redis (if this fails, the stream's expiry removes them).
        void this.#connection()
          .then((commands) => commands.call('XDEL', this.#resultsKey, ...entries.map(([entry]) => entry)))
          .catch(() => {});
        for (const [, flat] of entries) {
          const f = fieldsOf(flat);
          const base = { id: f.id ?? '', route: f.route ?? '' };
          const outcome: QueueOutcome =
            f.error !== undefined ? { ...base, error: f.error } : { ...base, data: parseJson(f.data) };
          for (const callback of [...this.#onOutcome]) callback(outcome);
        }
      },
      { last: '0-0' },
    );
  }

  /** Takes new messages while this process has room for them. */
  async #readWork(): Promise<void> {
    await this.#loop(
      () => this.#blockingConnection(),
      async (connection) => {
        const room = this.#limit - this.#held.size;
        if (room <= 0) {
          await new Promise<void>((resolve) => (this.#wakeReader = resolve));
          return;
        }
        if (!this.#group) {
          await connection.call('XGROUP', 'CREATE', this.name, QUEUE_GROUP, '0', 'MKSTREAM').catch((error: Error) => {
            if (!error.message.includes('BUSYGROUP')) throw error;
          });
          this.#group = true;
        }
        const reply = (await connection
          .call('XREADGROUP', 'GROUP', QUEUE_GROUP, this.consumer, 'COUNT', room, 'BLOCK', 0, 'STREAMS', this.name, '>')
          .catch((error: Error) => {
            if (error.message.includes('NOGROUP')) this.#group = false; // Redis lost it: create it again
            throw error;
          })) as [string, Entry[]][] | null;
        this.#take((reply?.[0]?.[1] ?? []).map(([entry, flat]) => [entry, 1, flat]));
      },
      undefined,
    );
  }

  /**
   * Runs `step` on a connection until the queue closes; a step that fails (Redis away) is tried
   * again after a pause that doubles up to {@link MAX_BACKOFF_MS}.
   */
  async #loop<S>(open: () => Promise<Redis>, step: (connection: Redis, state: S) => Promise<void>, state: S) {
    let connection: Redis | undefined;
    for (let failures = 0; !this.#closed; ) {
      try {
        connection ??= await open();
        await step(connection, state);
        failures = 0;
      } catch (error) {
        if (this.#closed) return;
        this.#logger.info(`work queue ${this.name}: ${errorText(error)}`);
        await pause(Math.min(MAX_BACKOFF_MS, 50 * 2 ** failures++));
      }
    }
  }

  /** Hands the messages taken to the channel, except those this process runs already. */
  #take(taken: [entry: string, deliveries: number, flat: string[]][]): void {
    if (this.#closed || !this.#run) return;
    const fresh: Held[] = [];
    const unreadable: QueuedResult[] = [];
    for (const [entry, deliveries, flat] of taken) {
      if (this.#held.has(entry)) continue; // never twice at once here; its renewal keeps it ours
      const f = fieldsOf(flat);
      const held = {
        entry,
        id: f.id ?? entry,
        type: f.type ?? '',
        payload: undefined as unknown,
        deliveries,
        origin: f.origin ?? '',
        route: f.route ?? '',
      };
      this.#held.set(entry, held);
      try {
        held.payload = parseJson(f.payload);
        fresh.push(held);
      } catch (error) {
        unreadable.push({ message: held, error: `unreadable payload: ${errorText(error)}` });
      }
    }
    if (unreadable.length > 0) void this.#settle(unreadable);
    if (fresh.length > 0) this.#run(fresh);
  }

  /** Stores results and acknowledges; records errors for another delivery; then frees the room. */
  async #settle(results: readonly QueuedResult[]): Promise<void> {
    if (this.#closed) return;
    const done: string[] = [];
    const failed: string[] = [];
    for (const result of results) {
      const { entry, id, origin, route } = result.message as Held;
      if ('error' in result) {
        failed.push(entry, result.error);
        continue;
      }
      try {
        done.push(entry, id, origin, route, result.data === undefined ? '' : (JSON.stringify(result.data) ?? ''));
      } catch (error) {
        failed.push(entry, `the result is not JSON: ${errorText(error)}`);
      }
    }
    if (done.length > 0) await this.#persist('queueDone', done);
    if (failed.length > 0) await this.#persist('queueFail', [this.consumer, this.maxDeliveries, ...failed]);
    for (const result of results) this.#held.delete((result.message as Held).entry);
    this.#wakeReader?.();
    this.#wakeReader = undefined;
  }

  /** Runs a script until it goes through (the scripts are idempotent) or the queue closes. */
  async #persist(name: QueueScriptName, args: (string | number)[]): Promise<void> {
    for (let failures = 0; !this.#closed; ) {
      try {
        await this.#script(name, ...args);
        return;
      } catch (error) {
        this.#logger.info(`work queue ${this.name}: ${errorText(error)}`);
        await pause(Math.min(MAX_BACKOFF_MS, 50 * 2 ** failures++));
      }
    }
  }

  /** Takes over messages idle for visibilityMs (a dead process's, or failed deliveries), while there is room. */
  async #sweep(): Promise<void> {
    if (this.#sweeping || this.#closed || !this.#group) return;
    this.#sweeping = true;
    try {
      for (let round = 0; round < SWEEP_ROUNDS; round++) {
        const room = this.#limit - this.#held.size;
        if (room <= 0) break;
        const reply = (await this.#script(
          'queueReclaim',
          this.consumer,
          this.maxDeliveries,
          this.visibilityMs,
          this.#cursor,
          room,
        )) as [string, ...(string | number | string[])[]];
        this.#cursor = reply[0];
        const taken: [string, number, string[]][] = [];
        for (let i = 1; i < reply.length; i += 3)
          taken.push([reply[i] as string, Number(reply[i + 1]), reply[i + 2] as string[]]);
        this.#take(taken);
        if (this.#cursor === '0-0') break;
      }
    } catch (error) {
      this.#logger.info(`work queue ${this.name}: ${errorText(error)}`);
    } finally {
      this.#sweeping = false;
    }
  }

  /** Tells Redis this process still has its messages (they stay idle no longer than a third of visibilityMs). */
  async #renew(): Promise<void> {
    if (this.#held.size === 0) return;
    const held = [...this.#held.keys()];
    try {
      const commands = await this.#connection();
      for (let i = 0; i < held.length; i += RENEW_BATCH) {
        const batch = held.slice(i, i + RENEW_BATCH);
        await this.#send(commands.call('XCLAIM', this.name, QUEUE_GROUP, this.consumer, 0, ...batch, 'JUSTID'));
      }
    } catch (error) {
      this.#logger.info(`work queue ${this.name}: ${errorText(error)}`);
    }
  }
}

function fieldsOf(flat: string[]): Record<string, string | undefined> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
}

function parseJson(text: string | undefined): unknown {
  return text === undefined ? undefined : JSON.parse(text);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
