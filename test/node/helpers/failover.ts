/**
 * Several `eric-bus up --redis` processes on one real redis-server, to kill, drain and restart on
 * their own ports (docs/bridge.md, "Several bridges"), and a producer beside them that they
 * never take down.
 */
import { join } from 'node:path';
import { RedisStore } from '../../../bridge/store/redis.js';
import type { SSEEvent } from '../../../src/index.js';
import { type Running, startCli } from './cli.js';
import { startRedis } from './redis.js';
import { type Served, startServer, tempDir } from './socket.js';

/** One `eric-bus up --redis` process, started again on the port it had. */
export class UpProcess {
  #running: Running | undefined;
  #port = 0;
  #url = '';
  /** Its socket's dir, the same at each start: one SIGKILLed leaves its socket here, not in a dir of its own. */
  readonly #dir = tempDir();

  constructor(
    readonly redisUrl: string,
    readonly token: string,
    readonly extra: readonly string[] = [],
  ) {}

  /** The bridge's URL, token included. */
  get url(): string {
    return this.#url;
  }

  /** The bridge's HTTP base (`http://127.0.0.1:PORT`). */
  get http(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Its output so far (logs on stderr). */
  get stderr(): string {
    return this.#running?.stderr() ?? '';
  }

  /** Starts the process (again), on the port it had (a free one the first time). */
  async start(): Promise<void> {
    const args = ['up', '--redis', this.redisUrl, '--port', String(this.#port), '--token', this.token];
    args.push('--socket', join(this.#dir.dir, 'bus.sock'), ...this.extra);
    const running = await startCli(args, /bridge at (ws:\/\/\S+)/);
    this.#running = running;
    this.#url = running.match![1]!;
    this.#port = Number(new URL(this.#url).port);
  }

  /** Sends `signal` (SIGKILL: dies at once; SIGTERM: drains) and waits for the process to exit. */
  async stop(signal: 'SIGKILL' | 'SIGTERM'): Promise<number | null> {
    const running = this.#running;
    if (!running || running.child.exitCode !== null || running.child.signalCode !== null) return null;
    running.child.kill(signal);
    return running.exited;
  }

  /** Stops it if it runs (test cleanup). */
  async close(): Promise<void> {
    await this.#running?.close();
    this.#dir.cleanup();
  }
}

/** A redis-server, `count` `up` processes on it, and an in-test server on it for the producer. */
export async function startCluster(count: number, extra: readonly string[] = []) {
  const redis = await startRedis();
  const ups = Array.from({ length: count }, () => new UpProcess(redis.url, 'failover', extra));
  let producer: Served | undefined;
  try {
    for (const up of ups) await up.start();
    producer = await startServer({ store: await RedisStore.connect(redis.url) });
  } catch (error) {
    await Promise.all(ups.map((up) => up.close()));
    await redis.close();
    throw error;
  }
  const served = producer;
  return {
    redis,
    ups,
    /** The server the producer's commands go to: in this process, never killed. */
    producer: served,
    async close(): Promise<void> {
      await Promise.all(ups.map((up) => up.close()));
      await served.close();
      await redis.close();
    },
  };
}

/** What a stream yielded, checked: the numbers 1…`total` once each, in order, and no gap event. */
export function numbersOf(events: readonly SSEEvent[]): number[] {
  return events.map((event) => (event.event === 'n' ? (event.data as number) : -1));
}
