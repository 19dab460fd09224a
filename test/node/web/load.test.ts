import { describe, expect } from 'vitest';
import { SocketClient } from '../../../bridge/index.js';
import { until } from '../helpers/async.js';
import { FrameClient, floodUntilBackedUp, openFds } from '../helpers/bridge.js';
import { it } from '../helpers/fixtures.js';

describe('bridge under load', () => {
  it('serves 500 concurrent WebSocket clients each streaming, then leaves no file descriptor behind', async ({
    startStack,
  }) => {
    // No grace period: a watch's listener goes with its stream.
    const stack = await startStack({}, { watchGraceMs: 0 });
    const direct = new SocketClient(stack.backend.path);
    const c = await direct.createChannel();
    const baseline = openFds();
    const clients = await Promise.all(Array.from({ length: 500 }, () => FrameClient.open(stack.bridge.url)));
    expect(stack.bridge.connections).toBe(500);
    // Each client watches the channel; every broadcast reaches all 500 streams.
    for (const ws of clients) ws.send({ id: 'watch', v: 'w', c });
    await until(() => stack.backend.server.channels.get(c).size === 500, 'all 500 watchers to register');
    expect(stack.backend.server.channels.get(c).size).toBe(500);
    for (let n = 0; n < 10; n++) await direct.broadcastMessage(c, 'tick', n);
    const received = await Promise.all(clients.map((ws) => ws.until('watch', 10)));
    for (const frames of received)
      expect(frames.map((f) => (f as { data: { data: number } }).data.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(openFds()).toBeGreaterThan(baseline + 1000); // a WebSocket pair and a Unix pair per client

    await Promise.all(clients.map((ws) => ws.close()));
    await until(() => stack.bridge.connections === 0, 'every WebSocket to close');
    // The server learns that an idle stream's client has gone at its next write (Unix sockets
    // give no other sign after the half-close): one broadcast lets it notice all 500.
    await direct.broadcastMessage(c, 'after', null);
    await until(
      () => stack.bridge.connections === 0 && stack.backend.server.streams === 0 && openFds() <= baseline,
      'every connection and descriptor to be released',
    );
    expect(stack.bridge.connections).toBe(0);
    expect(stack.backend.server.streams).toBe(0);
    // Each watch's listener went with its stream, and every socket with its client.
    expect(stack.backend.server.channels.get(c).size).toBe(0);
    expect(openFds()).toBeLessThanOrEqual(baseline);
  });

  it('closing a WebSocket closes every Unix connection it opened, streams and commands alike', async ({ stack }) => {
    const ws = await FrameClient.open(stack.bridge.url);
    const c = ((await ws.call('c', { v: 'c' })) as { ok: string }).ok;
    const baseline = openFds();
    for (let i = 0; i < 20; i++) ws.send({ id: i, v: 'w', c });
    await until(() => stack.backend.server.streams === 20, '20 streams to open');
    expect(openFds()).toBeGreaterThanOrEqual(baseline + 40);
    ws.ws.terminate();
    await until(() => stack.bridge.connections === 0, 'every WebSocket to close');
    // The server notices idle streams' departure at its next write.
    await new SocketClient(stack.backend.path).broadcastMessage(c, 'after', null);
    await until(
      () => stack.backend.server.streams === 0 && openFds() < baseline,
      'the streams and their descriptors to be released',
    );
    expect(stack.backend.server.streams).toBe(0);
    expect(stack.bridge.connections).toBe(0);
    expect(openFds()).toBeLessThan(baseline); // the WebSocket's own pair went too
  });

  it('backpressure: a WebSocket that does not read stops the Unix stream; messages stay queued', async ({ stack }) => {
    const direct = new SocketClient(stack.backend.path);
    const c = await direct.createChannel();
    const r = await direct.register(c);
    const ws = await FrameClient.open(stack.bridge.url);
    ws.send({ id: 's', v: 'l', c, r });
    await direct.dispatch(c, r, 'first', 0);
    expect(await ws.next('s')).toMatchObject({ data: { event: 'first' } });
    ws.ws.pause(); // the client stops reading its TCP socket
    const total = 20_000;
    const queued = await floodUntilBackedUp(stack.backend.server.channels.get(c), r, total);
    // ~20 MB dispatched; the bridge holds about 1 MiB and the kernel buffers a few: most stays queued.
    expect(queued).toBeGreaterThan(total / 2);
    ws.ws.resume();
    const frames = await ws.until('s', total);
    expect(frames.map((f) => (f as { data: { data: { i: number } } }).data.data.i)).toEqual(
      Array.from({ length: total }, (_, k) => k + 1),
    );
    await ws.close();
  });

  it('rides out a full accept queue on the socket server: a burst of commands all get their replies', async ({
    startStack,
  }) => {
    const stack = await startStack({}, { backlog: 1 });
    const ws = await FrameClient.open(stack.bridge.url);
    const burst = Array.from({ length: 200 }, (_, i) => i);
    for (const i of burst) ws.send({ id: i, v: 'c' });
    const replies = await Promise.all(burst.map((i) => ws.next(i)));
    expect(replies.filter((frame) => !('ok' in frame))).toEqual([]);
    expect(new Set(replies.map((frame) => (frame as { ok: string }).ok)).size).toBe(200);
    await ws.close();
  });
});
