// The Redis store when things break: a server SIGKILLed mid-stream, Redis restarting underneath.
// Every message is counted: none lost, none twice, order kept.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SocketClient } from '../../../bridge/index.js';
import { RedisStore } from '../../../bridge/store/redis.js';
import { type Command, StoreUnavailable } from '../../../src/index.js';
import { sleep, take, until } from '../helpers/async.js';
import { startCli } from '../helpers/cli.js';
import { hasRedisServer, redisForTests, startRedis } from '../helpers/redis.js';
import { startServer, tempDir } from '../helpers/socket.js';

interface Line {
  event: string;
  data: { k: number } | null;
  id: string;
}

/**
 * Streams `command` and collects its lines until it ends (a killed server ends it too), `count`
 * arrived, or an event of type `last` did.
 */
async function collect(client: SocketClient, command: Command, into: Line[], count: number, last?: string) {
  try {
    for await (const line of client.streamPayload(command)) {
      const event = JSON.parse(line) as Line;
      into.push(event);
      if (into.length >= count || event.event === last) return;
    }
  } catch {
    // The server died under the stream: what arrived is what counts.
  }
}

/** Retries `fn` while it fails with StoreUnavailable (Redis coming back), at most 500 times. */
async function whenBack<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (error) {
      if (!(error instanceof StoreUnavailable) || i >= 500) throw error;
      await sleep(20);
    }
  }
}

describe.skipIf(!hasRedisServer)('Redis store: faults', () => {
  const redis = redisForTests();

  it('a server SIGKILLed loses nothing: resumed with `i` on another server, it goes on exactly', async () => {
    const { dir, cleanup } = tempDir();
    const prefix = ['--redis', redis().url];
    const a = await startCli(['serve', '--socket', join(dir, 'a.sock'), ...prefix], 'serving on');
    const b = await startCli(['serve', '--socket', join(dir, 'b.sock'), ...prefix], 'serving on');
    try {
      const ca = new SocketClient(join(dir, 'a.sock'));
      const cb = new SocketClient(join(dir, 'b.sock'));
      const c = await cb.createChannel();
      const l = await cb.register(c);
      const TOTAL = 400;
      // Messages keep coming through B while A streams them and dies.
      const producing = (async () => {
        for (let k = 0; k < TOTAL; k++) await cb.dispatch(c, l, 'm', { k });
      })();
      const first: Line[] = [];
      const streaming = collect(ca, { v: 'l', c, r: l }, first, TOTAL);
      await until(() => first.length >= 50, 'A to stream 50 messages');
      a.child.kill('SIGKILL');
      await streaming;
      await a.exited;
      const last = first.at(-1)!.id;
      const rest: Line[] = [];
      if (first.length < TOTAL) await collect(cb, { v: 'l', c, r: l, i: last }, rest, TOTAL - first.length);
      await producing;
      const all = [...first, ...rest].map((line) => line.data!.k);
      expect(all).toEqual(Array.from({ length: TOTAL }, (_, k) => k));
      // The ids go on where they were, one per message.
      expect(new Set([...first, ...rest].map((line) => line.id)).size).toBe(TOTAL);
    } finally {
      await a.close();
      await b.close();
      cleanup();
    }
  }, 60_000);

  it('after a SIGKILL, a plain `l` on another server loses nothing (what the dead one wrote may repeat)', async () => {
    const { dir, cleanup } = tempDir();
    const a = await startCli(['serve', '--socket', join(dir, 'a.sock'), '--redis', redis().url], 'serving on');
    const b = await startCli(['serve', '--socket', join(dir, 'b.sock'), '--redis', redis().url], 'serving on');
    try {
      const ca = new SocketClient(join(dir, 'a.sock'));
      const cb = new SocketClient(join(dir, 'b.sock'));
      const c = await cb.createChannel();
      const l = await cb.register(c);
      const TOTAL = 300;
      // Messages keep coming through B while A streams them to a client that reads everything, and dies.
      const producing = (async () => {
        for (let k = 0; k < TOTAL; k++) await cb.dispatch(c, l, 'm', { k });
        await cb.dispatch(c, l, 'end');
      })();
      const first: Line[] = [];
      const streaming = collect(ca, { v: 'l', c, r: l }, first, TOTAL + 1, 'end');
      await until(() => first.length >= 50, 'A to stream 50 messages');
      a.child.kill('SIGKILL');
      await streaming;
      await a.exited;
      // A plain `l` on B (no `i`) starts where Redis's delivery mark is: at or before the first
      // message A's client did not get (A may have written some it had not marked yet: they repeat).
      const rest: Line[] = [];
      await collect(cb, { v: 'l', c, r: l }, rest, TOTAL + 1, 'end');
      await producing;
      expect(rest.pop()!.event).toBe('end');
      const got = first.map((line) => line.data!.k);
      const again = rest.map((line) => line.data!.k);
      expect(got).toEqual(Array.from({ length: got.length }, (_, k) => k));
      expect(again[0]).toBeLessThanOrEqual(got.length);
      expect(again).toEqual(Array.from({ length: TOTAL - again[0]! }, (_, i) => again[0]! + i));
    } finally {
      await a.close();
      await b.close();
      cleanup();
    }
  }, 60_000);

  it('Redis restarting underneath: commands get StoreUnavailable, the server reconnects, streams go on', async () => {
    const said: string[] = [];
    const logger = { info() {}, warn() {}, error: (line: string) => void said.push(line) };
    const running = await startServer({ store: await RedisStore.connect(redis().url, { prefix: 'restart:', logger }) });
    try {
      const client = new SocketClient(running.path);
      const c = await client.createChannel();
      const l = await client.register(c);
      const got: Line[] = [];
      const streaming = collect(client, { v: 'l', c, r: l }, got, 20);
      let acked = 0;
      for (; acked < 10; acked++) await client.dispatch(c, l, 'm', { k: acked });
      await until(() => got.length === 10, 'the first 10 to stream');

      await redis().stop();
      // While Redis is away a command is answered with a typed error, at once.
      expect(await client.sendRaw({ v: 'd', c, r: l, t: 'm', p: { k: -1 } })).toMatch(
        /^StoreUnavailable\('Redis is unreachable/,
      );
      await expect(client.createChannel()).rejects.toThrow(StoreUnavailable);
      await redis().start();

      // The server reconnects by itself; every acknowledged message is still there.
      await whenBack(() => client.dispatch(c, l, 'm', { k: acked }));
      for (acked++; acked < 20; acked++) await client.dispatch(c, l, 'm', { k: acked });
      await streaming;
      expect(got.map((line) => line.data!.k)).toEqual(Array.from({ length: 20 }, (_, k) => k));
      expect(got.map((line) => line.id)).toEqual(Array.from({ length: 20 }, (_, k) => `${l}:${k + 1}`));
      // The operator is told, once each, that Redis went and came back.
      expect(said).toEqual([expect.stringMatching(/ lost; /), expect.stringMatching(/ is back$/)]);
    } finally {
      await running.close();
    }
  });

  it('Redis stopping with dispatches in flight: each is acked or refused, every acked one streams', async () => {
    const logger = { info() {}, warn() {}, error() {} };
    const running = await startServer({
      store: await RedisStore.connect(redis().url, { prefix: 'inflight:', logger }),
    });
    try {
      const client = new SocketClient(running.path);
      const c = await client.createChannel();
      const l = await client.register(c);
      const SENT = 300;
      const replies = Array.from({ length: SENT }, (_, k) => client.sendRaw({ v: 'd', c, r: l, t: 'm', p: { k } }));
      await sleep(5);
      await redis().stop();
      const settled = await Promise.all(replies);
      for (const reply of settled) expect(reply).toMatch(/^(ack|StoreUnavailable\(.*\))$/);
      const acked = settled.flatMap((reply, k) => (reply === 'ack' ? [k] : []));
      await redis().start();
      await whenBack(() => client.broadcastMessage(c, 'end'));
      const got: Line[] = [];
      await collect(client, { v: 'l', c, r: l }, got, SENT + 1, 'end');
      expect(got.at(-1)!.event).toBe('end');
      const ks = got.slice(0, -1).map((line) => line.data!.k);
      // None twice, none that was not sent, and every acknowledged one.
      expect(new Set(ks).size).toBe(ks.length);
      expect(ks.filter((k) => !acked.includes(k)).every((k) => k >= 0 && k < SENT)).toBe(true);
      expect(acked.filter((k) => !ks.includes(k))).toEqual([]);
    } finally {
      await running.close();
    }
  });

  it('a watch resumed with `i` on another server continues, with nothing lost', async () => {
    const prefix = 'watch:';
    const a = await startServer({ store: await RedisStore.connect(redis().url, { prefix }) });
    const b = await startServer({ store: await RedisStore.connect(redis().url, { prefix }) });
    try {
      const ca = new SocketClient(a.path);
      const cb = new SocketClient(b.path);
      const c = await ca.createChannel();
      const first: Line[] = [];
      const watching = collect(ca, { v: 'w', c }, first, 3);
      await until(() => a.server.streams === 1, 'the watch to open');
      for (let k = 0; k < 6; k++) await cb.broadcastMessage(c, 'm', { k });
      await watching;
      // The watch's stream is gone; its listener waits for a resume, and keeps what is broadcast meanwhile.
      await until(() => a.server.streams === 0, 'the watch to end');
      await cb.broadcastMessage(c, 'm', { k: 6 });
      const rest = await take(cb.streamPayload({ v: 'w', c, i: first.at(-1)!.id }), 4);
      expect([...first, ...rest.map((line) => JSON.parse(line) as Line)].map((line) => line.data!.k)).toEqual([
        0, 1, 2, 3, 4, 5, 6,
      ]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe.skipIf(!hasRedisServer)('Redis store: more streams than Redis has clients for', () => {
  it('each stream gets its line or a typed error, none waits silently; the log says why', async () => {
    // 2 connections for the store's commands and its pub/sub, and one for each stream.
    const redis = await startRedis(['--maxclients', '12']);
    const said: string[] = [];
    const logger = { info() {}, warn() {}, error: (line: string) => void said.push(line) };
    const running = await startServer({ store: await RedisStore.connect(redis.url, { logger }) });
    const STREAMS = 20;
    const streams: AsyncIterator<string>[] = [];
    try {
      const client = new SocketClient(running.path);
      const c = await client.createChannel();
      const ls = await Promise.all(Array.from({ length: STREAMS }, () => client.register(c)));
      for (const l of ls) await client.dispatch(c, l, 'm');
      // Every stream stays open once it has its line, holding its Redis connection.
      const outcomes = ls.map((l) => {
        const stream = client.stream(c, l)[Symbol.asyncIterator]();
        streams.push(stream);
        return stream.next().then(
          (next) => (next.done ? 'ended' : 'line'),
          (error: unknown) =>
            error instanceof StoreUnavailable ? `StoreUnavailable: ${error.message}` : String(error),
        );
      });
      // Bounded: a stream still silent after 15 s is counted as such, and fails the test.
      const silent = sleep(15_000).then(() => 'silent');
      const got = await Promise.all(outcomes.map((outcome) => Promise.race([outcome, silent])));
      const count = (what: string) => got.filter((outcome) => outcome.startsWith(what)).length;
      const counts = { line: count('line'), refused: count('StoreUnavailable'), silent: count('silent') };
      expect(counts.line + counts.refused).toBe(STREAMS);
      expect(counts.refused).toBeGreaterThan(0);
      expect(got.find((outcome) => outcome.startsWith('StoreUnavailable'))).toMatch(/max number of clients/);
      expect(said.some((line) => /max number of clients/.test(line))).toBe(true);
    } finally {
      await Promise.all(streams.map((stream) => stream.return?.()));
      await running.close();
      await redis.close();
    }
  }, 30_000);
});
