// Draining a bridge (docs/bridge.md, "Draining a bridge"): streams end with reconnect, commands in
// flight are answered, new clients get 503, /readyz 503 and /healthz 200 until it closes; a
// BridgeClient on two bridges in front of one server moves at once, with nothing lost or twice;
// `eric-bus up --thread` (the bridge on a worker thread) drains alike.
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { WebSocket } from 'ws';
import { WebSocketBridge } from '../../../bridge/index.js';
import { Message, type SSEEvent } from '../../../src/index.js';
import { until } from '../helpers/async.js';
import { FrameClient, heldBackend, upgrade } from '../helpers/bridge.js';
import { runCli, startCli } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';
import { openSse } from '../helpers/http.js';
import { hasRedisServer, redisForTests } from '../helpers/redis.js';

/** GET `path` on the bridge's port: its status and body. */
async function get(bridge: { port: number }, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${bridge.port}${path}`);
  return { status: response.status, body: await response.text() };
}

describe('a draining bridge', () => {
  it('ends each stream with reconnect, then lets the WebSocket go and closes', async ({ stack }) => {
    const { bridge, backend } = stack;
    expect(await get(bridge, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get(bridge, '/readyz')).toEqual({ status: 200, body: 'ready\n' });
    const frames = await FrameClient.open(bridge.url);
    const c = (await frames.call(1, { v: 'c' })) as { ok: string };
    const r = (await frames.call(2, { v: 'r', c: c.ok })) as { ok: string };
    frames.send({ id: 3, v: 'l', c: c.ok, r: r.ok });
    frames.send({ id: 4, v: 'w', c: c.ok });
    await until(() => backend.server.streams === 2, 'both streams to open');

    const drained = bridge.drain(10_000);
    expect(await frames.next(3)).toEqual({ id: 3, end: true, reconnect: true });
    expect(await frames.next(4)).toEqual({ id: 4, end: true, reconnect: true });
    // Nothing in flight any more: the bridge lets the WebSocket go and closes.
    expect((await frames.closed).code).toBe(1001);
    await drained;
    await until(() => backend.server.streams === 0, 'the streams to end on the server');
  });

  it('answers a command in flight, refuses new clients, and ends a stream asked for meanwhile', async ({ dir }) => {
    const held = await heldBackend(join(dir, 'held.sock'));
    const bridge = await WebSocketBridge.start({ socketPath: held.path, port: 0 });
    try {
      const frames = await FrameClient.open(bridge.url);
      frames.send({ id: 1, v: 'd', c: '1', r: '1', t: 'x' });
      await until(() => held.commands.length === 1, 'the command to reach the server');
      const drained = bridge.drain(10_000);
      frames.send({ id: 2, v: 'w', c: '1' });
      expect(await frames.next(2)).toEqual({ id: 2, end: true, reconnect: true });
      expect(await upgrade(bridge.url)).toBe(503);
      // Going, whatever the token: a client tries another bridge rather than giving up.
      expect(await upgrade(bridge.url.replace(/token=[^&]+/, 'token=wrong'))).toBe(503);
      expect((await get(bridge, '/readyz')).status).toBe(503);
      expect(await get(bridge, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
      expect((await get(bridge, `/channels?token=${bridge.token}`)).status).toBe(503);
      held.release();
      expect(await frames.next(1)).toEqual({ id: 1, ok: 'ack' });
      expect((await frames.closed).code).toBe(1001);
      await drained;
    } finally {
      await bridge.close();
      await held.close();
    }
  });

  it('a BridgeClient on two bridges in front of one server moves at once and resumes: none lost, none twice', async ({
    stack,
    bridgeClient,
  }) => {
    const { bridge: first, backend } = stack;
    const second = await WebSocketBridge.start({ socketPath: backend.path, port: 0, token: first.token });
    try {
      // A backoff this long would time the test out: the move must not wait for one.
      const client = bridgeClient([first.url, second.url], { WebSocket, reconnect: { initialDelayMs: 60_000 } });
      const channel = backend.server.channels.get(await client.createChannel());
      const listener = await client.register(channel.id);
      const got: SSEEvent[] = [];
      const reading = (async () => {
        for await (const event of client.stream(channel.id, listener, { limit: 400 })) got.push(event);
      })();
      for (let n = 1; n <= 200; n++) channel.dispatch(listener, new Message('n', n));
      await until(() => got.length >= 50, 'the first events');
      expect(client.url).toBe(first.url);
      await first.drain(5000);
      for (let n = 201; n <= 400; n++) channel.dispatch(listener, new Message('n', n));
      await reading;
      expect(client.url).toBe(second.url);
      expect(got.map((event) => event.data)).toEqual(Array.from({ length: 400 }, (_, k) => k + 1));
      // Commands go to the second bridge now.
      const another = await client.register(channel.id);
      expect([...channel.listeners()].map((l) => l.id)).toContain(another);
    } finally {
      await second.close();
    }
  });

  it('eric-bus listen takes --url more than once: the first bridge unreachable, it streams through the next', async ({
    stack,
  }) => {
    const channel = stack.backend.server.channels.get(await stack.backend.server.store.createChannel());
    const listener = await stack.backend.server.store.addListener(channel.id);
    for (let n = 1; n <= 3; n++) channel.dispatch(listener, new Message('n', n));
    const dead = `ws://127.0.0.1:1/?token=${stack.bridge.token}`;
    const args = ['listen', '--url', dead, '--url', stack.bridge.url, channel.id, listener, '--count', '3'];
    const { code, stdout } = await runCli(args);
    expect(code).toBe(0);
    expect(
      stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as SSEEvent).data),
    ).toEqual([1, 2, 3]);
  });
});

describe('a draining eric-bus bridge', () => {
  it('drains on Ctrl-C (SIGINT): its WebSocket stream ends with reconnect, its SSE stream closes, exit 0', async ({
    dir,
  }) => {
    const socket = join(dir, 'bus.sock');
    const served = await startCli(['serve', '--socket', socket], /serving on/);
    const bridge = await startCli(
      ['bridge', '--socket', socket, '--port', '0', '--token', 'drain', '--drain-ms', '60000'],
      /connect to (ws:\/\/\S+)/,
    );
    try {
      const url = bridge.match![1]!;
      const port = Number(new URL(url).port);
      const frames = await FrameClient.open(url);
      const c = ((await frames.call(1, { v: 'c' })) as { ok: string }).ok;
      const [r, r2] = [
        ((await frames.call(2, { v: 'r', c })) as { ok: string }).ok,
        ((await frames.call(3, { v: 'r', c })) as { ok: string }).ok,
      ];
      frames.send({ id: 4, v: 'l', c, r });
      const sse = await openSse(`http://127.0.0.1:${port}/channels/${c}/listeners/${r2}/events?token=drain`);
      expect(await frames.call(5, { v: 'b', c, t: 'n', p: 1 })).toEqual({ id: 5, ok: 'ack' });
      expect('data' in (await frames.next(4))).toBe(true);
      await sse.events(1);
      bridge.child.kill('SIGINT');
      expect(await frames.next(4)).toEqual({ id: 4, end: true, reconnect: true });
      await sse.ended;
      expect((await frames.closed).code).toBe(1001);
      expect(await bridge.exited).toBe(0);
      expect(served.child.exitCode).toBe(null);
    } finally {
      await bridge.close();
      await served.close();
    }
  });
});

describe.skipIf(!hasRedisServer)('a draining eric-bus up --thread (the bridge on its own worker thread)', () => {
  const redis = redisForTests();

  it('drains on SIGTERM as up does: reconnect ends, SSE closed, 503s, in-flight command answered, exit 0', async () => {
    const args = ['up', '--thread', '--redis', redis().url, '--port', '0', '--token', 'drain', '--drain-ms', '60000'];
    const up = await startCli(args, /bridge at (ws:\/\/\S+)/);
    try {
      const url = up.match![1]!;
      const bridge = { port: Number(new URL(url).port) };
      const frames = await FrameClient.open(url);
      const c = ((await frames.call(1, { v: 'c' })) as { ok: string }).ok;
      const r = ((await frames.call(2, { v: 'r', c })) as { ok: string }).ok;
      const r2 = ((await frames.call(3, { v: 'r', c })) as { ok: string }).ok;
      frames.send({ id: 4, v: 'l', c, r });
      const sse = await openSse(`http://127.0.0.1:${bridge.port}/channels/${c}/listeners/${r2}/events?token=drain`);
      expect(await frames.call(5, { v: 'd', c, r, t: 'n', p: 1 })).toEqual({ id: 5, ok: 'ack' });
      expect(await frames.call(6, { v: 'd', c, r: r2, t: 'n', p: 1 })).toEqual({ id: 6, ok: 'ack' });
      expect('data' in (await frames.next(4))).toBe(true);
      await sse.events(1);

      // Redis frozen, a dispatch stays in flight; the bridge refusing the same id again shows it holds it.
      redis().freeze();
      frames.send({ id: 7, v: 'd', c, r, t: 'n', p: 2 });
      expect(await frames.call(7, { v: 'd', c, r, t: 'n', p: 3 })).toMatchObject({ id: 7, error: expect.any(String) });
      up.child.kill('SIGTERM');
      // A bridge that closed at once instead would close the WebSocket without that frame.
      const ended = await Promise.race([frames.next(4), frames.closed.then(({ code }) => `closed (${code})`)]);
      expect(ended).toEqual({ id: 4, end: true, reconnect: true });
      await sse.ended;
      expect(await upgrade(url)).toBe(503);
      expect((await get(bridge, '/readyz')).status).toBe(503);
      expect(await get(bridge, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
      expect((await get(bridge, '/channels?token=drain')).status).toBe(503);
      expect(up.child.exitCode).toBe(null);

      redis().thaw();
      expect(await frames.next(7)).toEqual({ id: 7, ok: 'ack' });
      expect((await frames.closed).code).toBe(1001);
      expect(await up.exited).toBe(0);
    } finally {
      redis().thaw();
      await up.close();
    }
  });

  it('exits at --drain-ms when a command in flight is never answered', async () => {
    const args = ['up', '--thread', '--redis', redis().url, '--port', '0', '--token', 'drain', '--drain-ms', '2000'];
    const up = await startCli(args, /bridge at (ws:\/\/\S+)/);
    try {
      const frames = await FrameClient.open(up.match![1]!);
      expect(await frames.call(1, { v: 'c' })).toMatchObject({ id: 1, ok: expect.any(String) });
      redis().freeze();
      frames.send({ id: 2, v: 'c' });
      expect(await frames.call(2, { v: 'c' })).toMatchObject({ id: 2, error: expect.any(String) });
      up.child.kill('SIGTERM');
      expect(await up.exited).toBe(0);
      expect(frames.pending(2)).toBe(0);
    } finally {
      redis().thaw();
      await up.close();
    }
  });
});
