// Watches whose server dies: their lease in Redis lapses, and any live server removes them once
// the grace period after it is over. The dead server is a real process, SIGKILLed or SIGTERMed.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SocketClient } from '../../../bridge/index.js';
import { RedisStore } from '../../../bridge/store/redis.js';
import { scriptSource } from '../../../bridge/store/redis-scripts.js';
import { InvalidListenerException } from '../../../src/index.js';
import { sleep, until } from '../helpers/async.js';
import { hasRedisServer, redisForTests } from '../helpers/redis.js';
import { startServer, tempDir } from '../helpers/socket.js';

const DIST = join(import.meta.dirname, '../../../dist/bridge');
/** Short, so that a test waits for lease + grace in well under a second. */
const LEASE_MS = 300;
const GRACE_MS = 300;
const WATCHES = 20;

/** A SocketServer on the Redis store in a process of its own (SocketServer.start: SIGTERM shuts it down). */
async function serverProcess(dir: string, url: string, prefix: string): Promise<{ child: ChildProcess; path: string }> {
  const path = join(dir, 'a.sock');
  const script = join(dir, 'a.mjs');
  writeFileSync(
    script,
    `import { SocketServer } from ${JSON.stringify(join(DIST, 'index.js'))};
import { RedisStore } from ${JSON.stringify(join(DIST, 'store/redis.js'))};
const store = await RedisStore.connect(${JSON.stringify(url)}, {
  prefix: ${JSON.stringify(prefix)}, watchGraceMs: ${GRACE_MS}, watchLeaseMs: ${LEASE_MS},
});
await SocketServer.start(${JSON.stringify(path)}, { store });
console.log('serving');
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('serving')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the server process exited with ${code}`)));
  });
  return { child, path };
}

describe.skipIf(!hasRedisServer)('Redis store: watches of a server that died', () => {
  const redis = redisForTests();
  let n = 0;

  it.each(['SIGKILL', 'SIGTERM'] as const)(
    'after %s, the watches go after lease + grace on a live server, and broadcasts stop filling Redis',
    async (signal) => {
      const prefix = `lease${++n}:`;
      const { dir, cleanup } = tempDir();
      const inspect = new Redis(redis().url);
      const a = await serverProcess(dir, redis().url, prefix);
      const exited = new Promise((resolve) => a.child.once('exit', resolve));
      const b = await startServer({
        store: await RedisStore.connect(redis().url, { prefix, watchGraceMs: GRACE_MS, watchLeaseMs: LEASE_MS }),
      });
      try {
        const ca = new SocketClient(a.path);
        const cb = new SocketClient(b.path);
        const c = await cb.createChannel();
        // Each watch on A reports its listener (the id of its first event), then reads until A dies.
        const ids: string[] = [];
        const watching = Array.from({ length: WATCHES }, async () => {
          try {
            for await (const line of ca.watch(c)) {
              const id = (JSON.parse(line) as { id: string }).id.split(':')[0]!;
              if (!ids.includes(id)) ids.push(id);
            }
          } catch {
            // A died under the stream.
          }
        });
        const members = () => inspect.scard(`${prefix}c:${c}`);
        for (let i = 0; i < 500 && (await members()) < WATCHES; i++) await sleep(10);
        expect(await members()).toBe(WATCHES);
        // One live watch on B, which must outlive them all.
        const live: string[] = [];
        const liveWatch = (async () => {
          for await (const line of cb.watch(c)) if (live.push(line) >= 1001) return;
        })();
        for (let i = 0; i < 500 && (await members()) < WATCHES + 1; i++) await sleep(10);
        await cb.broadcastMessage(c, 'hello');
        await until(() => ids.length === WATCHES && live.length === 1, 'every watch to get its first event');

        a.child.kill(signal);
        await exited;
        await Promise.all(watching);
        // Bounded wait (lease + grace is 600 ms here): the orphans go, B's watch stays.
        for (let i = 0; i < 300 && (await members()) > 1; i++) await sleep(20);
        const orphans = (await members()) - 1;
        const queued = async () => {
          let total = 0;
          for (const id of ids) total += await inspect.xlen(`${prefix}q:${id}`);
          return total;
        };
        const before = await queued();
        for (let i = 0; i < 1000; i++) await cb.broadcastMessage(c, 'm', i);
        const grown = (await queued()) - before;
        await liveWatch;
        const refused = await Promise.all(
          ids.map((id) =>
            cb.removeListener(c, id).then(
              () => 'ack',
              (error: unknown) => (error instanceof InvalidListenerException ? 'gone' : String(error)),
            ),
          ),
        );
        expect({ orphans, refused: refused.filter((r) => r === 'gone').length, grown }).toEqual({
          orphans: 0,
          refused: WATCHES,
          grown: 0,
        });
        expect(live).toHaveLength(1001);
      } finally {
        a.child.kill('SIGKILL');
        await b.close();
        inspect.disconnect();
        cleanup();
      }
    },
    30_000,
  );

  it('a renewal never brings back a watch that a newer stream took over or that was removed', async () => {
    const prefix = `lease${++n}:`;
    const inspect = new Redis(redis().url);
    const store = await RedisStore.connect(redis().url, { prefix, watchGraceMs: GRACE_MS, watchLeaseMs: 60_000 });
    const renew = (r: string, own: number) =>
      inspect.eval(scriptSource('ericRenew'), 0, prefix, 3_600_000, r, own) as Promise<number>;
    const score = async (r: string) => inspect.zscore(`${prefix}graces`, r);
    try {
      const c = await store.createChannel();
      const first = await store.watch(c);
      const r = first.listenerId;
      // Its stream (owner 1) holds it for the lease and the grace period.
      const leased = Number(await score(r));
      // A resume takes it over (owner 2): the first stream's server renewing with owner 1 changes nothing.
      const second = await store.watch(c, { lastEventId: `${r}:0` });
      expect(second.listenerId).toBe(r);
      const taken = await score(r);
      expect(await renew(r, 1)).toBe(0);
      expect(await score(r)).toBe(taken);
      expect(await renew(r, 2)).toBe(1);
      expect(Number(await score(r))).toBeGreaterThan(leased);
      // Removed (`rl`): no renewal brings it back.
      await store.removeListener(c, r);
      expect(await renew(r, 2)).toBe(0);
      expect([await score(r), await inspect.exists(`${prefix}l:${r}`)]).toEqual([null, 0]);
      first.close();
      second.close();
    } finally {
      await store.close();
      inspect.disconnect();
    }
  });
});
