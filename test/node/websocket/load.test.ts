import { join } from 'node:path';
import { describe, expect, onTestFinished } from 'vitest';
import { SocketClient, WebSocketBridge } from '../../../bridge/index.js';
import type { ReplyFrame } from '../../../src/wire/bridge-frames.js';
import { sleep, until } from '../helpers/async.js';
import { FrameClient, floodUntilBackedUp, heldBackend, openFds } from '../helpers/bridge.js';
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
    // No message is needed for the server to let the idle streams go: the bridge tells it (rs).
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
    await until(
      () => stack.backend.server.streams === 0 && openFds() < baseline,
      'the streams and their descriptors to be released',
    );
    expect(stack.backend.server.streams).toBe(0);
    expect(stack.bridge.connections).toBe(0);
    expect(openFds()).toBeLessThan(baseline); // the WebSocket's own pair went too
  });

  it('cancelling 100 idle watches releases them on the server at once: connections, fds, listeners', async ({
    startStack,
  }) => {
    const stack = await startStack({}, { watchGraceMs: 0 });
    const ws = await FrameClient.open(stack.bridge.url);
    const c = ((await ws.call('c', { v: 'c' })) as { ok: string }).ok;
    const baseline = openFds();
    for (let i = 0; i < 100; i++) ws.send({ id: i, v: 'w', c });
    await until(() => stack.backend.server.streams === 100, '100 watches to open');
    for (let i = 0; i < 100; i++) ws.send({ id: i, v: 'cancel' });
    // Nothing is dispatched: the channel stays quiet, and still the server lets go.
    await until(
      () => stack.backend.server.streams === 0 && openFds() <= baseline,
      'the server side of every cancelled watch to be released',
    );
    expect(stack.backend.server.channels.get(c).size).toBe(0);
    await ws.close();
  });

  it('a client that does not read its replies is not read either: what waits for it stays bounded', async ({
    startStack,
  }) => {
    let run = 0;
    const logger = {
      info: (line: string) => void (/^(session )?command d/.test(line) && run++),
      warn() {},
      error() {},
    };
    const stack = await startStack({}, { logger });
    const ws = await FrameClient.open(stack.bridge.url);
    const c = ((await ws.call('c', { v: 'c' })) as { ok: string }).ok;
    ws.ws.pause(); // reads nothing from now on
    const total = 3000;
    const r = 'x'.repeat(8000); // each reply is an error naming this listener: about 8 KB
    // In batches, each run before the next is sent, until the server has had nothing for a second.
    let sent = 0;
    while (sent < total && run === sent) {
      for (let k = 0; k < 50; k++, sent++) ws.send({ id: sent, v: 'd', c, r, t: 'n' });
      for (let quiet = 0, last = run; run < sent && quiet < 20; last = run) {
        await sleep(50);
        quiet = run === last ? quiet + 1 : 0;
      }
    }
    // The socket buffers on the way hold some replies, the bridge 1 MiB: then it reads no more frames.
    expect(run).toBeGreaterThan(0);
    expect(run).toBeLessThan(total / 2);
    while (sent < total) ws.send({ id: sent++, v: 'd', c, r, t: 'n' });
    ws.ws.resume();
    const replies = await Promise.all(Array.from({ length: total }, (_, i) => ws.next(i)));
    expect(replies.every((f) => 'error' in f && f.error.startsWith('InvalidListenerException('))).toBe(true);
    expect(run).toBe(total);
    await ws.close();
  });

  it('caps commands in flight per WebSocket and bridge-wide; the rest wait their turn, in order', async ({ dir }) => {
    const backend = await heldBackend(join(dir, 'held.sock'));
    onTestFinished(() => backend.close());
    const bridge = await WebSocketBridge.start({
      socketPath: backend.path,
      port: 0,
      maxInFlight: 8,
      maxInFlightTotal: 12,
    });
    onTestFinished(() => bridge.close());
    const [flood, other, third] = await Promise.all([1, 2, 3].map(() => FrameClient.open(bridge.url)));
    for (let i = 0; i < 2000; i++) flood!.send({ id: i, v: 'd', c: '1', r: '1', t: 'n', p: i });
    await until(() => backend.open === 8, "the flood's first 8 commands to reach the server");
    // Another WebSocket is not behind the flood's 1,992 waiting commands.
    other!.send({ id: 'other', v: 'c' });
    await until(() => backend.open === 9, "the other client's command to reach the server");
    for (let i = 0; i < 20; i++) third!.send({ id: i, v: 'b', c: '1', t: 'm', p: i });
    await until(() => backend.open === 12, 'the bridge-wide limit to fill');
    expect(backend.commands.filter((c) => c.t === 'n').map((c) => c.p)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await sleep(100);
    expect(backend.peak).toBe(12);
    backend.release();
    const replies = await Promise.all([
      ...Array.from({ length: 2000 }, (_, i) => flood!.next(i)),
      other!.next('other'),
      ...Array.from({ length: 20 }, (_, i) => third!.next(i)),
    ]);
    expect(replies.every((f) => 'ok' in f && f.ok === 'ack')).toBe(true);
    expect(backend.peak).toBe(12);
    expect(backend.commands).toHaveLength(2021);
    for (const client of [flood, other, third]) await client!.close();
  });

  it('a socket server out of descriptors, then killed, mid-burst: every frame answered, the bridge lives', async ({
    dir,
    startCli,
  }) => {
    const path = join(dir, 'bus.sock');
    // Room to load its modules (the loader opens many at once), little to spare once serving.
    const server = await startCli(['serve', '--socket', path], 'serving on', { fdLimit: 48 });
    const bridge = await WebSocketBridge.start({ socketPath: path, port: 0 });
    onTestFinished(() => bridge.close());
    const ws = await FrameClient.open(bridge.url);
    onTestFinished(() => ws.close());
    const answered = async (from: number, count: number) => {
      const ids = Array.from({ length: count }, (_, i) => from + i);
      for (const id of ids) ws.send({ id, v: 'c' });
      return Promise.all(ids.map((id) => ws.next(id)));
    };
    const kinds = (frames: ReplyFrame[]) =>
      new Set(frames.map((f) => ('ok' in f ? 'ok' : 'error' in f ? f.error.split('(')[0] : 'other')));
    // Each frame is answered: a channel id, or a typed error naming the trouble (EPIPE, ECONNRESET).
    const starved = await answered(0, 500);
    expect([...kinds(starved)].every((kind) => kind === 'ok' || kind === 'BackendUnavailable')).toBe(true);
    expect(kinds(starved).has('ok')).toBe(true);
    const firstReply = new Promise((resolve) => ws.ws.once('message', resolve));
    const burst = answered(500, 500);
    await firstReply;
    server.child.kill('SIGKILL');
    const cut = await burst;
    expect([...kinds(cut)].every((kind) => kind === 'ok' || kind === 'BackendUnavailable')).toBe(true);
    expect(kinds(cut).has('BackendUnavailable')).toBe(true);
    // The bridge is still there, and says why nothing works.
    expect(await ws.call('after', { v: 'c' })).toEqual({
      id: 'after',
      error: expect.stringMatching(/^BackendUnavailable\(/),
    });
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
