// A DataProcessingChannel on a Redis work queue, with real processes and a real redis-server: a worker
// SIGKILLed mid-run, a poison message, Redis restarted mid-run. Every message is counted.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataProcessingChannel, MESSAGE_TYPE_INTERNAL_ERROR, Message, StoreUnavailable } from 'eric-bus';
import { createLogger, type RedisWorkQueue, redisWorkQueue } from 'eric-bus/node';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collect, until } from '../helpers/async.js';
import { hasRedisServer, redisForTests } from '../helpers/redis.js';
import { tempDir } from '../helpers/socket.js';

const PROCESS = fileURLToPath(new URL('../fixtures/queue-process.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The ```js block of docs/workers.md that is file `name`, and what the text right after it says it prints. */
function docFile(name: string): { code: string; prints: string | undefined } {
  const text = readFileSync(join(ROOT, 'docs/workers.md'), 'utf8');
  const start = text.indexOf(`\`\`\`js\n// ${name}\n`);
  if (start < 0) throw new Error(`docs/workers.md has no ${name}`);
  const end = text.indexOf('```', start + 6);
  const prints = /^```\n+(?:(?!```)[\s\S])*?prints:\n+```text\n([\s\S]*?)```/.exec(text.slice(end));
  return { code: text.slice(start + 6, end), prints: prints?.[1] };
}

/** What the fixture's handler returns. */
interface Result {
  n: number;
  id: string;
  deliveries: number;
  pid: number;
}

type Event = { event: string; data: unknown };

/** One line of the run log: a handler ran message `id` in process `pid`, delivery `deliveries`. */
interface Run {
  pid: number;
  id: string;
  deliveries: number;
}

describe.skipIf(!hasRedisServer)('DataProcessingChannel on a Redis work queue', () => {
  const redis = redisForTests();
  let dir: string;
  let cleanup: () => void;
  let children: ChildProcess[];
  let closing: (() => Promise<void>)[];
  let queueNumber = 0;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    children = [];
    closing = [];
  });

  afterEach(async () => {
    await Promise.all(children.map((child) => stopped(child, 'SIGKILL')));
    for (const close of closing) await close();
    cleanup();
  });

  /** A process that only works for queue `name`, with two worker threads; resolves once its workers are up. */
  async function workerProcess(name: string, visibilityMs: number): Promise<ChildProcess> {
    const child = spawn(process.execPath, [PROCESS, redis().url, name, String(visibilityMs)], {
      env: { ...process.env, QUEUE_RUN_LOG: join(dir, 'runs.log'), QUEUE_CURE: join(dir, 'cured') },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`the worker process exited with ${code}`)));
    });
    return child;
  }

  /** A dispatch-only channel on queue `name` (no worker), closed after the test. */
  function dispatcher(name: string, visibilityMs: number) {
    // Quiet: the restart test loses Redis on purpose.
    const queue = redisWorkQueue(redis().url, name, { visibilityMs, logger: { ...createLogger(), error: () => {} } });
    const channel = new DataProcessingChannel({ maxWorkers: 1, queue });
    closing.push(() => channel.close());
    return { channel, queue, listener: channel.addListener() };
  }

  function runs(): Run[] {
    const path = join(dir, 'runs.log');
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [pid, id, deliveries] = line.split(' ');
        return { pid: Number(pid), id: id!, deliveries: Number(deliveries) };
      });
  }

  const uniqueName = () => `test-queue-${++queueNumber}`;

  it('two worker processes, one SIGKILLed mid-run: every result arrives once, reruns told and bounded', async () => {
    const name = uniqueName();
    const [a, b] = [await workerProcess(name, 400), await workerProcess(name, 400)];
    const { channel, listener } = dispatcher(name, 400);
    const count = 200;
    await Promise.all(
      Array.from({ length: count }, (_, n) => channel.dispatch(listener.id, new Message('job', { n, ms: 10 }))),
    );
    const events = collect(channel.processQueue(listener)) as Promise<Event[]>;
    await until(() => runs().filter((run) => run.pid === a.pid).length >= 20, 'process A to run 20 messages');
    await stopped(a, 'SIGKILL');

    const results = (await events).map((event) => {
      expect(event.event).toBe('job');
      return event.data as Result;
    });
    // Every message once, whichever process ran it.
    expect(results.map((result) => result.n).sort((x, y) => x - y)).toEqual([...Array(count).keys()]);
    expect(new Set(results.map((result) => result.id)).size).toBe(count);
    expect(results.some((result) => result.pid === b.pid)).toBe(true);
    // A rerun is a message A held when it died: at most its workers' two plus its prefetch of 4, each told
    // it is a later delivery.
    const seen = new Map<string, Run[]>();
    for (const run of runs()) seen.set(run.id, [...(seen.get(run.id) ?? []), run]);
    const reran = [...seen.values()].filter((all) => all.length > 1);
    expect(reran.length).toBeLessThanOrEqual(6);
    for (const all of reran) {
      expect(all[0]!.pid).toBe(a.pid);
      expect(all.slice(1).every((run) => run.pid === b.pid && run.deliveries >= 2)).toBe(true);
    }
    expect(channel.progress).toMatchObject({ done: count, failed: 0, pending: 0 });
  });

  it('a poison message is dead-lettered after 3 deliveries, with its last error, and can be sent back', async () => {
    const name = uniqueName();
    await workerProcess(name, 200);
    const { channel, queue, listener } = dispatcher(name, 200);
    for (let n = 0; n < 5; n++) await channel.dispatch(listener.id, new Message('job', { n, poison: n === 2 }));

    const events = (await collect(channel.processQueue(listener))) as Event[];
    expect(events).toHaveLength(5);
    const errors = events.filter((event) => event.event === MESSAGE_TYPE_INTERNAL_ERROR);
    expect(errors).toEqual([{ event: MESSAGE_TYPE_INTERNAL_ERROR, data: { type: 'job', message: 'poison 2' } }]);
    expect(channel.progress).toMatchObject({ done: 4, failed: 1, pending: 0 });

    const [dead] = await queue.deadLetters();
    expect(dead).toMatchObject({ type: 'job', payload: { n: 2, poison: true }, error: 'poison 2', deliveries: 3 });
    const poisonRuns = runs().filter((run) => run.id === dead!.id);
    expect(poisonRuns.map((run) => run.deliveries)).toEqual([1, 2, 3]);
    // In Redis, as the spec lists the fields: the payload as JSON.
    const client = new Redis(redis().url);
    closing.push(async () => void (await client.quit()));
    const [[, fields]] = (await client.xrange(queue.deadLetterKey, '-', '+')) as [string, string[]][];
    expect(fields).toEqual([
      'id',
      dead!.id,
      'type',
      'job',
      'payload',
      '{"n":2,"poison":true}',
      'error',
      'poison 2',
      'deliveries',
      '3',
    ]);

    // Cured, sent back: it runs again from its first delivery, and leaves the queue.
    writeFileSync(join(dir, 'cured'), '');
    await queue.redispatch(dead!.id);
    expect(await queue.deadLetters()).toEqual([]);
    await until(() => runs().filter((run) => run.id === dead!.id).length === 4, 'the cured message to run');
    expect(runs().at(-1)).toMatchObject({ id: dead!.id, deliveries: 1 });
    await expect(queue.redispatch(dead!.id)).rejects.toBeInstanceOf(RangeError);
  });

  it('Redis restarted mid-run: every stored message gets its result; a dispatch meanwhile is refused', async () => {
    const name = uniqueName();
    await workerProcess(name, 400);
    await workerProcess(name, 400);
    const { channel, listener } = dispatcher(name, 400);
    const count = 300;
    await Promise.all(
      Array.from({ length: count }, (_, n) => channel.dispatch(listener.id, new Message('job', { n, ms: 5 }))),
    );
    const results: Result[] = [];
    const drained = (async () => {
      for await (const event of channel.processQueue(listener)) results.push((event as Event).data as Result);
    })();
    await until(() => results.length >= 50, '50 results');
    await redis().stop();
    await expect(channel.dispatch(listener.id, new Message('job', { n: -1 }))).rejects.toBeInstanceOf(StoreUnavailable);
    await redis().start();
    await drained;
    expect(results.map((result) => result.n).sort((x, y) => x - y)).toEqual([...Array(count).keys()]);
    expect(new Set(results.map((result) => result.id)).size).toBe(count);
  });

  it('a handler slower than visibilityMs keeps its message: it runs once', async () => {
    const name = uniqueName();
    await workerProcess(name, 150);
    await workerProcess(name, 150);
    const { channel, listener } = dispatcher(name, 150);
    await channel.dispatch(listener.id, new Message('slow', { n: 0, ms: 800 }));
    const events = (await collect(channel.processQueue(listener))) as Event[];
    expect(events.map((event) => (event.data as Result).deliveries)).toEqual([1]);
    expect(runs()).toHaveLength(1);
  });

  it('the example of docs/workers.md: two processes work, one dispatches and prints what the text says', async () => {
    // In the package's own tree, so `eric-bus` names the package (its built dist/).
    const examples = mkdtempSync(join(ROOT, 'test/.queue-doc-'));
    closing.push(async () => rmSync(examples, { recursive: true, force: true }));
    for (const name of ['square-worker.mjs', 'work.mjs', 'dispatch.mjs'])
      writeFileSync(join(examples, name), docFile(name).code);
    const env = { ...process.env, REDIS_URL: redis().url };
    for (let i = 0; i < 2; i++)
      children.push(spawn(process.execPath, [join(examples, 'work.mjs')], { env, stdio: 'ignore' }));
    const printed = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [join(examples, 'dispatch.mjs')], { env, timeout: 20_000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      ),
    );
    expect(printed).toBe(docFile('dispatch.mjs').prints);
    // SIGTERM: each leaves the queue and exits by itself.
    await Promise.all(children.map((child) => stopped(child, 'SIGTERM')));
    expect(children.map((child) => child.exitCode)).toEqual([0, 0]);
  });

  it('refuses options out of range, and a payload JSON cannot carry, before storing anything', async () => {
    for (const options of [{ visibilityMs: 10 }, { maxDeliveries: 0 }, { prefetch: -1 }, { prefetch: 1.5 }])
      expect(() => redisWorkQueue(redis().url, uniqueName(), options)).toThrow(RangeError);
    expect(() => redisWorkQueue(redis().url, '')).toThrow(RangeError);
    // A URL from an unset environment variable: a TypeError that says so, not one from deep inside.
    expect(() => redisWorkQueue(process.env.ERIC_BUS_NO_SUCH_VARIABLE!, uniqueName())).toThrow(
      new TypeError('redisWorkQueue needs a Redis URL (redis://host:port), not undefined'),
    );
    const { channel, listener } = dispatcher(uniqueName(), 1000);
    await expect(channel.dispatch(listener.id, new Message('job', { n: 1n }))).rejects.toBeInstanceOf(TypeError);
    expect(channel.progress.pending).toBe(0);
    expect(await collect(channel.processQueue(listener))).toEqual([]);
  });

  it('a Redis that cannot be reached is a StoreUnavailable from dispatch', async () => {
    const queue: RedisWorkQueue = redisWorkQueue('redis://127.0.0.1:1', uniqueName(), { connectTimeoutMs: 1000 });
    const channel = new DataProcessingChannel({ maxWorkers: 1, queue });
    closing.push(() => channel.close());
    await expect(channel.dispatch(channel.addListener().id, new Message('job', 1))).rejects.toBeInstanceOf(
      StoreUnavailable,
    );
    expect(channel.progress.pending).toBe(0);
  });
});

/** Sends `signal` to `child` (unless it has exited) and resolves once it has. */
function stopped(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
