// The Redis store on a real redis-server: two servers sharing channels, streams on both, one
// stream per listener across servers, Redis errors as typed replies.
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SocketClient } from '../../../bridge/index.js';
import { disableMetrics, enableMetrics } from '../../../bridge/metrics/metrics.js';
import { RedisStore } from '../../../bridge/store/redis.js';
import { InvalidChannelException, InvalidListenerException, StoreUnavailable } from '../../../src/index.js';
import { sleep, take, until } from '../helpers/async.js';
import { CLI, runCli } from '../helpers/cli.js';
import { hasRedisServer, redisForTests, startRedis } from '../helpers/redis.js';
import { startServer, tempDir } from '../helpers/socket.js';

type Running = Awaited<ReturnType<typeof startServer>>;

/** A SocketServer on the Redis store, with its own key prefix when given. */
async function redisServer(url: string, prefix: string): Promise<Running> {
  return startServer({ store: await RedisStore.connect(url, { prefix }) });
}

const events = (lines: string[]) =>
  lines.map((line) => JSON.parse(line) as { event: string; data: unknown; id: string });

describe.skipIf(!hasRedisServer)('Redis store: two servers on one Redis', () => {
  const redis = redisForTests();
  let a: Running;
  let b: Running;
  let ca: SocketClient;
  let cb: SocketClient;
  let n = 0;

  /** Two fresh servers under a fresh prefix, so each test starts from an empty bus. */
  async function pair(): Promise<() => Promise<void>> {
    const prefix = `t${++n}:`;
    a = await redisServer(redis().url, prefix);
    b = await redisServer(redis().url, prefix);
    ca = new SocketClient(a.path);
    cb = new SocketClient(b.path);
    return async () => {
      await a.close();
      await b.close();
    };
  }

  it('shares channels, listeners and queues: created through one, used through the other', async () => {
    const close = await pair();
    try {
      const c = await ca.createChannel();
      const l = await cb.register(c);
      // Ids come from Redis, so they are unique across servers.
      expect(await cb.createChannel()).not.toBe(c);
      for (let i = 0; i < 5; i++) await (i % 2 ? ca : cb).dispatch(c, l, 'n', { i });
      const got = events(await take(ca.stream(c, l), 5));
      expect(got.map((e) => e.data)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
      expect(got.map((e) => e.id)).toEqual([1, 2, 3, 4, 5].map((k) => `${l}:${k}`));
      expect(got[0]).toEqual({ event: 'n', retry: 5, data: { i: 0 }, id: `${l}:1` });
    } finally {
      await close();
    }
  });

  it('a broadcast reaches every listener, whichever server streams it', async () => {
    const close = await pair();
    try {
      const c = await ca.createChannel();
      const ls = await Promise.all([ca.register(c), cb.register(c), ca.register(c), cb.register(c)]);
      const streams = ls.map((l, i) => take((i % 2 ? ca : cb).stream(c, l), 3));
      await until(() => a.server.streams === 2 && b.server.streams === 2, 'four streams to open');
      for (const t of ['x', 'y', 'z']) await (t === 'y' ? cb : ca).broadcastMessage(c, t, t);
      for (const lines of await Promise.all(streams))
        expect(events(lines).map((e) => e.event)).toEqual(['x', 'y', 'z']);
    } finally {
      await close();
    }
  });

  it('answers errors as the in-memory store does', async () => {
    const close = await pair();
    try {
      expect(await ca.sendRaw({ v: 'r', c: '999' })).toBe("InvalidChannelException('No channel with id 999')");
      const c = await ca.createChannel();
      await expect(cb.dispatch(c, '424242', 'x')).rejects.toThrow(InvalidListenerException);
      expect(await cb.sendRaw({ v: 'rl', c, r: '424242' })).toBe("InvalidListenerException('Invalid listener 424242')");
      await expect(take(cb.stream(c, '424242'), 1)).rejects.toThrow(InvalidListenerException);
      // A listener of another channel is not this channel's.
      const other = await ca.createChannel();
      const l = await ca.register(other);
      await expect(cb.dispatch(c, l, 'x')).rejects.toThrow(InvalidListenerException);
      await ca.removeChannel(c);
      await expect(cb.broadcastMessage(c, 'x')).rejects.toThrow(InvalidChannelException);
    } finally {
      await close();
    }
  });

  it('removing a listener or its channel through one server ends its stream on the other (closed event)', async () => {
    const close = await pair();
    try {
      const c = await ca.createChannel();
      const [l1, l2] = [await ca.register(c), await ca.register(c)];
      const s1 = take(cb.stream(c, l1), 10);
      const s2 = take(cb.stream(c, l2), 10);
      await until(() => b.server.streams === 2, 'two streams to open');
      await ca.dispatch(c, l1, 'before');
      await ca.removeListener(c, l1);
      expect(events(await s1).map((e) => e.event)).toEqual(['before', '_eric_channel_closed']);
      await ca.removeChannel(c);
      expect(events(await s2).map((e) => e.event)).toEqual(['_eric_channel_closed']);
      await until(() => b.server.streams === 0, 'the streams to end');
    } finally {
      await close();
    }
  });

  it('one stream per listener across servers: a new `l` on one ends the older stream on the other', async () => {
    const close = await pair();
    try {
      const c = await ca.createChannel();
      const l = await ca.register(c);
      const old = ca.stream(c, l)[Symbol.asyncIterator]();
      const oldFirst = old.next();
      await until(() => a.server.streams === 1, 'the first stream to open');
      const fresh = cb.stream(c, l)[Symbol.asyncIterator]();
      const freshFirst = fresh.next();
      expect(await oldFirst).toEqual({ done: true, value: undefined });
      await until(() => a.server.streams === 0 && b.server.streams === 1, 'the old stream to end');
      for (const t of ['a', 'b', 'c']) await ca.dispatch(c, l, t);
      const got = [JSON.parse((await freshFirst).value as string).event];
      for (let i = 0; i < 2; i++) got.push(JSON.parse((await fresh.next()).value as string).event);
      expect(got).toEqual(['a', 'b', 'c']);
      await fresh.return?.();
    } finally {
      await close();
    }
  });

  it('streams of one listener asked for at once open in that order: the last asked keeps it', async () => {
    const store = await RedisStore.connect(redis().url, { prefix: `t${++n}:` });
    try {
      const c = await store.createChannel();
      const l = await store.addListener(c);
      // Each stream gets a Redis connection of its own first, and they are ready in any order.
      const feeds = await Promise.all(Array.from({ length: 8 }, () => store.listen(c, l)));
      await until(() => feeds.slice(0, -1).every((f) => f.interrupted.aborted), 'the older streams to end');
      expect(feeds.map((f) => f.interrupted.aborted)).toEqual([...Array(7).fill(true), false]);
      for (const feed of feeds) feed.close();
    } finally {
      await store.close();
    }
  });

  it('a watch streams a new listener, which goes once its stream ends and the grace period is over', async () => {
    const prefix = `t${++n}:`;
    const running = await startServer({ store: await RedisStore.connect(redis().url, { prefix, watchGraceMs: 200 }) });
    try {
      const client = new SocketClient(running.path);
      const c = await client.createChannel();
      const watching = take(client.watch(c), 2);
      await until(() => running.server.streams === 1, 'the watch to open');
      await client.broadcastMessage(c, 'one');
      await client.broadcastMessage(c, 'two');
      const got = events(await watching);
      expect(got.map((e) => e.event)).toEqual(['one', 'two']);
      const l = got[0]!.id.split(':')[0]!;
      // In its grace period the listener is still there…
      await client.dispatch(c, l, 'kept');
      // …and once it is over, gone (removed by a timer, without polling Redis).
      let gone = false;
      for (let i = 0; i < 200 && !gone; i++) {
        await sleep(20);
        gone = (await client.sendRaw({ v: 'd', c, r: l, t: 'x' })).startsWith('InvalidListenerException');
      }
      expect(gone).toBe(true);
      // Resuming it now starts a new watch, with a gap.
      const resumed = events(await take(client.streamPayload({ v: 'w', c, i: got[1]!.id }), 1));
      expect(resumed[0]).toMatchObject({ event: '_eric_gap', data: { after: got[1]!.id } });
      expect(resumed[0]!.id.split(':')[0]).not.toBe(l);
    } finally {
      await running.close();
    }
  });
});

describe.skipIf(!hasRedisServer)('Redis store: histories', () => {
  const redis = redisForTests();

  it('keeps the last N delivered events: a resume within them is exact, one beyond starts with a gap', async () => {
    const running = await startServer({
      store: await RedisStore.connect(redis().url, { history: 5, historyBytes: 0 }),
    });
    try {
      const client = new SocketClient(running.path);
      const c = await client.createChannel();
      const l = await client.register(c);
      for (let i = 1; i <= 12; i++) await client.dispatch(c, l, 'n', i);
      const first = events(await take(client.stream(c, l), 10));
      expect(first.map((e) => e.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      // All 12 went out in one write (the client read 10): the history keeps 8…12. Within it: exact.
      const resumed = events(await take(client.streamPayload({ v: 'l', c, r: l, i: first[7]!.id }), 4));
      expect(resumed.map((e) => [e.data, e.id])).toEqual([9, 10, 11, 12].map((n) => [n, `${l}:${n}`]));
      // Beyond it (3 is gone): a gap first, then everything retained, nothing skipped silently.
      const gapped = events(await take(client.streamPayload({ v: 'l', c, r: l, i: first[2]!.id }), 6));
      expect(gapped[0]).toMatchObject({ event: '_eric_gap', data: { after: first[2]!.id } });
      expect(gapped.slice(1).map((e) => e.data)).toEqual([8, 9, 10, 11, 12]);
      // An id that is not this listener's is unknown: a gap too.
      const unknown = events(await take(client.streamPayload({ v: 'l', c, r: l, i: 'nonsense' }), 1));
      expect(unknown[0]!.event).toBe('_eric_gap');
    } finally {
      await running.close();
    }
  });

  it('keeps, besides the last N, the events of its newest historyBytes: within them a resume is exact', async () => {
    const running = await startServer({
      store: await RedisStore.connect(redis().url, { history: 2, historyBytes: 1500 }),
    });
    try {
      const client = new SocketClient(running.path);
      const c = await client.createChannel();
      const l = await client.register(c);
      // 30 events whose lines (less their ids) are 72 bytes: the window of 1,500 holds the newest 20,
      // 11 … 30, and the last 2 besides: 9 … 30.
      for (let i = 1; i <= 30; i++) await client.dispatch(c, l, 'n', `${i}`.padStart(40, '-'));
      const first = events(await take(client.stream(c, l), 30));
      const after = (n: number) => client.streamPayload({ v: 'l', c, r: l, i: first[n - 1]!.id });
      const exact = events(await take(after(8), 22));
      expect(exact.map((e) => e.id)).toEqual(first.slice(8).map((e) => e.id));
      // One before: a gap, then what is retained.
      const gapped = events(await take(after(7), 23));
      expect(gapped[0]).toMatchObject({ event: '_eric_gap' });
      expect(gapped.slice(1).map((e) => e.id)).toEqual(first.slice(8).map((e) => e.id));
    } finally {
      await running.close();
    }
  });
});

describe.skipIf(!hasRedisServer)('Redis store: messages waiting (the metrics gauge)', () => {
  const redis = redisForTests();

  it('counts what is queued, over every server on the Redis: dispatch, broadcast, streams, removals', async () => {
    const metrics = await enableMetrics();
    const running = await startServer({ store: await RedisStore.connect(redis().url, { prefix: 'waiting:' }) });
    // Another server's store on the same Redis and prefix: it reports the same count.
    const other = await RedisStore.connect(redis().url, { prefix: 'waiting:' });
    const gauge = async () => {
      const line = (await metrics.scrape()).text.split('\n').find((l) => l.startsWith('ericbus_messages_waiting '));
      return Number(line?.split(' ')[1]);
    };
    /** Waits (bounded) until the gauge reads `expected`: a stream tells Redis what it delivered just after. */
    const settlesAt = async (expected: number) => {
      for (let i = 0; i < 500 && (await gauge()) !== expected; i++) await sleep(10);
      expect(await gauge()).toBe(expected);
      expect(await other.waiting()).toBe(expected);
    };
    try {
      const client = new SocketClient(running.path);
      const c = await client.createChannel();
      const [l1, l2, l3] = [await client.register(c), await client.register(c), await client.register(c)];
      expect(await gauge()).toBe(0);
      for (let i = 1; i <= 7; i++) await client.dispatch(c, l1!, 'n', i);
      for (let i = 1; i <= 4; i++) await client.broadcastMessage(c, 'b', i);
      // l1: 7 + 4, l2: 4, l3: 4.
      await settlesAt(19);
      const got = events(await take(client.stream(c, l2!, { limit: 3 }), 3));
      expect(got.map((e) => e.data)).toEqual([1, 2, 3]);
      await settlesAt(16);
      // A resume after the first: 2 and 3 again from the history (delivered already), then 4, new.
      const resumed = events(await take(client.stream(c, l2!, { lastEventId: got[0]!.id, limit: 3 }), 3));
      expect(resumed.map((e) => e.data)).toEqual([2, 3, 4]);
      await settlesAt(15);
      // Removing a listener takes what it still had queued: 11.
      await client.removeListener(c, l1!);
      await settlesAt(4);
      expect(events(await take(client.stream(c, l3!, { limit: 2 }), 2)).map((e) => e.data)).toEqual([1, 2]);
      await settlesAt(2);
      // Removing the channel takes what its listeners still had: l3's last 2.
      await client.removeChannel(c);
      await settlesAt(0);
    } finally {
      disableMetrics();
      await other.close();
      await running.close();
    }
  });
});

describe.skipIf(!hasRedisServer)('Redis store: Redis unreachable', () => {
  it('connecting to a Redis that is not there fails at once with StoreUnavailable', async () => {
    const redis = await startRedis();
    const url = redis.url;
    await redis.close();
    await expect(RedisStore.connect(url)).rejects.toThrow(StoreUnavailable);
    await expect(RedisStore.connect('')).rejects.toThrow(
      new TypeError('RedisStore.connect needs a Redis URL (redis://host:port), not ""'),
    );
    await expect(RedisStore.connect(url)).rejects.toThrow(/Cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+/);
    // The commands say so and exit non-zero.
    const { dir, cleanup } = tempDir();
    try {
      for (const command of ['serve', 'up']) {
        const run = await runCli([command, '--socket', join(dir, 'bus.sock'), '--redis', url]);
        expect(run.code).toBe(1);
        expect(run.stderr).toMatch(/Cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/);
      }
      const bad = await runCli(['serve', '--socket', join(dir, 'bus.sock'), '--redis', 'localhost:6379']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--redis takes redis:\/\/HOST:PORT/);
    } finally {
      cleanup();
    }
  });

  it('a Redis that accepts connections but never answers fails start-up after connectTimeoutMs', async () => {
    // It takes every connection and never writes a byte.
    const held = new Set<Socket>();
    const silent = createServer((socket) => {
      held.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `redis://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const { dir, cleanup } = tempDir();
    try {
      const connecting = RedisStore.connect(url, { connectTimeoutMs: 300 }).then(
        (store) => store.close().then(() => 'connected'),
        (error: unknown) => error,
      );
      // Bounded: a start-up that hangs fails the test rather than running on.
      const settled = await Promise.race([connecting, sleep(10_000).then(() => 'still waiting after 10 s')]);
      expect(settled).toBeInstanceOf(StoreUnavailable);
      expect((settled as Error).message).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:\d+ did not answer within 300 ms/);
      // The commands say so on one line and exit 1 (after the default timeout, a few seconds).
      const runs = ['serve', 'up'].map((command) =>
        bounded([command, '--socket', join(dir, `${command}.sock`), '--redis', url]),
      );
      for (const run of await Promise.all(runs)) {
        expect(run.code).toBe(1);
        expect(run.stderr).toMatch(/^eric-bus \w+: Redis at redis:\/\/127\.0\.0\.1:\d+ did not answer within \d+ ms/);
        expect(run.stderr.trim().split('\n')).toHaveLength(1);
      }
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
      cleanup();
    }
  }, 30_000);

  it('a database the Redis does not have is an error, not database 0', async () => {
    const redis = await startRedis();
    const { dir, cleanup } = tempDir();
    try {
      const connecting = RedisStore.connect(`${redis.url}/99`).then(
        (store) => store.close().then(() => 'connected to database 0'),
        (error: unknown) => error,
      );
      const settled = await connecting;
      expect(settled).toBeInstanceOf(StoreUnavailable);
      expect((settled as Error).message).toMatch(/^Redis at redis:\/\/127\.0\.0\.1:\d+\/99 has no database 99 \(/);
      const run = await bounded(['serve', '--socket', join(dir, 'bus.sock'), '--redis', `${redis.url}/99`]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/has no database 99/);
    } finally {
      await redis.close();
      cleanup();
    }
  });
});

/** Runs the CLI, killed after 20 s if it has not exited by then (code null). */
function bounded(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}
