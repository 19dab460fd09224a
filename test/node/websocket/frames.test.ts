import { join } from 'node:path';
import { describe, expect, onTestFinished } from 'vitest';
import { SocketServer, WebSocketBridge } from '../../../bridge/index.js';
import { Message } from '../../../src/index.js';
import type { ReplyFrame } from '../../../src/wire/bridge-frames.js';
import { pokeUntil, sleep, until } from '../helpers/async.js';
import { FrameClient } from '../helpers/bridge.js';
import { it } from '../helpers/fixtures.js';

describe('bridge: every verb through the frame envelope', () => {
  it('c, r, d, b, l, rl, rc: ok replies carry the server reply and the request id', async ({ frames: ws }) => {
    const created = await ws.call(1, { v: 'c' });
    expect(created).toEqual({ id: 1, ok: expect.stringMatching(/^\d+$/) });
    const c = (created as { ok: string }).ok;
    const registered = await ws.call('two', { v: 'r', c });
    expect(registered).toEqual({ id: 'two', ok: expect.stringMatching(/^\d+$/) });
    const r = (registered as { ok: string }).ok;
    expect(await ws.call(3, { v: 'd', c, r, t: 'hello', p: { n: 1 } })).toEqual({ id: 3, ok: 'ack' });
    expect(await ws.call(4, { v: 'b', c, t: 'news', p: ['all'] })).toEqual({ id: 4, ok: 'ack' });
    ws.send({ id: 5, v: 'l', c, r });
    expect(await ws.until(5, 2)).toEqual([
      { id: 5, data: { event: 'hello', retry: 5, data: { n: 1 }, id: `${r}:1` } },
      { id: 5, data: { event: 'news', retry: 5, data: ['all'], id: `${r}:2` } },
    ]);
    // Removing the listener ends its stream: a closed event, then the end frame.
    expect(await ws.call(6, { v: 'rl', c, r })).toEqual({ id: 6, ok: 'ack' });
    expect(await ws.until(5)).toEqual([
      { id: 5, data: { event: '_eric_channel_closed', retry: 5, data: null, id: `${r}:3` } },
      { id: 5, end: true },
    ]);
    expect(await ws.call(7, { v: 'rc', c })).toEqual({ id: 7, ok: 'ack' });
    expect(await ws.call(8, { v: 'r', c })).toEqual({
      id: 8,
      error: `InvalidChannelException('No channel with id ${c}')`,
    });
  });

  it('w: watches a channel; removing the channel ends the watch', async ({ frames: ws }) => {
    const c = ((await ws.call(1, { v: 'c' })) as { ok: string }).ok;
    ws.send({ id: 2, v: 'w', c });
    const first = await pokeUntil(ws.next(2), (i) => ws.call(100 + i, { v: 'b', c, t: 'ping', p: i }), 'the watch');
    expect(first).toMatchObject({ id: 2, data: { event: 'ping', retry: 5 } });
    expect(await ws.call(3, { v: 'rc', c })).toEqual({ id: 3, ok: 'ack' });
    const rest = await ws.until(2);
    expect(rest.at(-1)).toEqual({ id: 2, end: true });
  });

  it('server errors come back as error frames with the exception text', async ({ frames: ws }) => {
    expect(await ws.call(1, { v: 'd', c: '404', r: '1', t: 'x' })).toEqual({
      id: 1,
      error: "InvalidChannelException('No channel with id 404')",
    });
    const c = ((await ws.call(2, { v: 'c' })) as { ok: string }).ok;
    expect(await ws.call(3, { v: 'd', c, r: 'nobody', t: 'x' })).toMatchObject({
      id: 3,
      error: expect.stringMatching(/^InvalidListenerException\(/),
    });
    expect(await ws.call(4, { v: 'd', c, r: '1' })).toMatchObject({
      id: 4,
      error: expect.stringMatching(/^InvalidMessageFormat\(/),
    });
    ws.send({ id: 5, v: 'l', c, r: 'nobody' });
    expect(await ws.until(5)).toEqual([{ id: 5, error: expect.stringMatching(/^InvalidListenerException\(/) }]);
  });

  it('multiplexes many streams and commands on one WebSocket, each reply under its own id', async ({ frames: ws }) => {
    const c = ((await ws.call('c', { v: 'c' })) as { ok: string }).ok;
    const listeners: string[] = [];
    for (let i = 0; i < 5; i++) listeners.push(((await ws.call(`r${i}`, { v: 'r', c })) as { ok: string }).ok);
    for (const [i, r] of listeners.entries()) ws.send({ id: `s${i}`, v: 'l', c, r });
    // Interleave dispatches to every listener, all in flight at once.
    const acks = [];
    for (let n = 0; n < 20; n++)
      for (const [i, r] of listeners.entries()) acks.push(ws.call(`d${i}-${n}`, { v: 'd', c, r, t: `to-${i}`, p: n }));
    expect((await Promise.all(acks)).every((frame) => 'ok' in frame && frame.ok === 'ack')).toBe(true);
    for (const [i, r] of listeners.entries()) {
      const frames = await ws.until(`s${i}`, 20);
      expect(frames.map((f) => (f as { data: { event: string; data: number } }).data)).toEqual(
        Array.from({ length: 20 }, (_, n) => ({ event: `to-${i}`, retry: 5, data: n, id: `${r}:${n + 1}` })),
      );
    }
  });

  it('cancel closes the stream: nothing more arrives for it and the rest stays queued on the server', async ({
    frames: ws,
    stack,
  }) => {
    const c = ((await ws.call(1, { v: 'c' })) as { ok: string }).ok;
    const r = ((await ws.call(2, { v: 'r', c })) as { ok: string }).ok;
    await ws.call(3, { v: 'd', c, r, t: 'first' });
    ws.send({ id: 4, v: 'l', c, r });
    expect(await ws.next(4)).toMatchObject({ data: { event: 'first' } });
    ws.send({ id: 4, v: 'cancel' });
    const channel = stack.backend.server.channels.get(c);
    // The bridge tells the server (rs): the idle stream ends at once, before any message comes.
    await until(() => stack.backend.server.streams === 0, 'the server to end the cancelled stream');
    for (let n = 0; n < 3; n++) await ws.call(10 + n, { v: 'd', c, r, t: 'later', p: n });
    expect(channel.queueLength(r)).toBe(3);
    // The id is free again, and a new stream on the listener gets exactly the queued messages.
    ws.send({ id: 4, v: 'l', c, r });
    expect((await ws.until(4, 3)).map((f) => (f as { data: { data: number } }).data.data)).toEqual([0, 1, 2]);
  });

  it("relays 'i' like the other keys: a stream resumed through the bridge replays after that id", async ({
    frames: ws,
  }) => {
    const c = ((await ws.call(1, { v: 'c' })) as { ok: string }).ok;
    const r = ((await ws.call(2, { v: 'r', c })) as { ok: string }).ok;
    for (let n = 1; n <= 4; n++) await ws.call(10 + n, { v: 'd', c, r, t: 'n', p: n });
    ws.send({ id: 3, v: 'l', c, r });
    const first = (await ws.until(3, 4)).map((f) => (f as { data: { id: string } }).data.id);
    expect(first).toEqual([1, 2, 3, 4].map((n) => `${r}:${n}`));
    ws.send({ id: 3, v: 'cancel' });
    ws.send({ id: 4, v: 'l', c, r, i: first[1] });
    expect((await ws.until(4, 2)).map((f) => (f as { data: { data: number } }).data.data)).toEqual([3, 4]);
  });

  it('a stream with a window gets that many events, then more as credit comes; the rest stays queued', async ({
    frames: ws,
    stack,
  }) => {
    const c = ((await ws.call(1, { v: 'c' })) as { ok: string }).ok;
    const r = ((await ws.call(2, { v: 'r', c })) as { ok: string }).ok;
    const channel = stack.backend.server.channels.get(c);
    const pad = 'x'.repeat(1000);
    for (let n = 0; n < 2000; n++) channel.dispatch(r, new Message('n', { n, pad }));
    ws.send({ id: 3, v: 'l', c, r, credit: 10 });
    const ns = (frames: ReplyFrame[]) => frames.map((f) => (f as { data: { data: { n: number } } }).data.data.n);
    const from = (start: number, count: number) => Array.from({ length: count }, (_, k) => start + k);
    expect(ns(await ws.until(3, 10))).toEqual(from(0, 10));
    await sleep(100);
    expect(ws.pending(3)).toBe(0);
    // The bridge holds back one read and the socket buffers a few hundred KB: the server keeps the rest.
    expect(channel.queueLength(r)).toBeGreaterThan(1000);
    ws.send({ id: 3, v: 'credit', credit: 5 });
    expect(ns(await ws.until(3, 5))).toEqual(from(10, 5));
    await sleep(100);
    expect(ws.pending(3)).toBe(0);
    ws.send({ id: 3, v: 'credit', credit: 1985 });
    expect(ns(await ws.until(3, 1985))).toEqual(from(15, 1985));
    // Out of credit again: the stream's end waits behind the events held back, in order.
    channel.dispatch(r, new Message('n', 'last'));
    expect(await ws.call(4, { v: 'rl', c, r })).toEqual({ id: 4, ok: 'ack' });
    await sleep(100);
    expect(ws.pending(3)).toBe(0);
    ws.send({ id: 3, v: 'credit', credit: 1 });
    expect(await ws.next(3)).toMatchObject({ id: 3, data: { event: 'n', data: 'last' } });
    await sleep(100);
    expect(ws.pending(3)).toBe(0);
    ws.send({ id: 3, v: 'credit', credit: 1 });
    const [closed, end] = await ws.until(3);
    expect(closed).toMatchObject({ id: 3, data: { event: '_eric_channel_closed' } });
    expect(end).toEqual({ id: 3, end: true });
  });

  it('a frame nesting 5,000 or 50,000 deep is refused under its id; the bridge serves on', async ({ frames: ws }) => {
    const c = ((await ws.call(1, { v: 'c' })) as { ok: string }).ok;
    for (const depth of [5000, 50_000]) {
      ws.send(`{"id":${depth},"v":"b","c":"${c}","t":"x","p":${'['.repeat(depth)}${']'.repeat(depth)}}`);
      expect(await ws.next(depth)).toEqual({
        id: depth,
        error: "InvalidMessageFormat('Frame nests deeper than 1000 levels of arrays and objects')",
      });
    }
    expect(await ws.call(2, { v: 'c' })).toEqual({ id: 2, ok: expect.stringMatching(/^\d+$/) });
  });

  it('a frame that is not a JSON object with an id gets an id-null error; the connection stays usable', async ({
    frames: ws,
  }) => {
    const bad = [
      'not json',
      '[1,2]',
      '"text"',
      '42',
      'null',
      '{"v":"c"}',
      '{"id":null,"v":"c"}',
      '{"id":{},"v":"c"}',
      '{"id":true,"v":"c"}',
    ];
    for (const text of bad) {
      ws.send(text);
      expect(await ws.next(null)).toEqual({ id: null, error: expect.stringMatching(/^InvalidMessageFormat\(.+\)$/) });
    }
    ws.ws.send(Buffer.from('{"id":1,"v":"c"}'), { binary: true });
    expect(await ws.next(null)).toEqual({ id: null, error: expect.stringMatching(/^InvalidMessageFormat\(.*binary/) });
    expect(await ws.call(1, { v: 'zz' })).toEqual({
      id: 1,
      error: expect.stringMatching(/^InvalidMessageFormat\(.*Unknown verb/),
    });
    expect(await ws.call(2, {})).toEqual({
      id: 2,
      error: expect.stringMatching(/^InvalidMessageFormat\(.*Missing verb/),
    });
    expect(await ws.call(3, { v: 'c' })).toEqual({ id: 3, ok: expect.stringMatching(/^\d+$/) });
  });

  it('an id already in flight is refused for the new command; the first keeps going', async ({ frames: ws }) => {
    const c = ((await ws.call(1, { v: 'c' })) as { ok: string }).ok;
    const r = ((await ws.call(2, { v: 'r', c })) as { ok: string }).ok;
    ws.send({ id: 9, v: 'l', c, r });
    expect(await ws.call(9, { v: 'c' })).toEqual({
      id: 9,
      error: expect.stringMatching(/^InvalidMessageFormat\(.*already in flight/),
    });
    await ws.call(3, { v: 'd', c, r, t: 'still-streaming' });
    expect(await ws.next(9)).toMatchObject({ data: { event: 'still-streaming' } });
  });
});

describe('bridge: limits and refusals', () => {
  it('a read-only bridge (allow l,w) refuses other verbs with VerbNotAllowed, forwards the rest', async ({
    startStack,
  }) => {
    const stack = await startStack({ allow: ['l', 'w'] });
    const ws = await FrameClient.open(stack.bridge.url);
    for (const v of ['c', 'r', 'd', 'b', 'rl', 'rc']) {
      expect(await ws.call(v, { v, c: '1', r: '1', t: 'x' })).toEqual({
        id: v,
        error: `VerbNotAllowed("Verb '${v}' is not allowed on this bridge")`,
      });
    }
    expect(await ws.call('l', { v: 'l', c: '1', r: '1' })).toEqual({
      id: 'l',
      error: "InvalidChannelException('No channel with id 1')",
    });
    await ws.close();
  });

  it('caps open streams per connection with TooManyStreams; a closed stream frees its slot', async ({ startStack }) => {
    const stack = await startStack({ maxStreams: 2 });
    const ws = await FrameClient.open(stack.bridge.url);
    const c = ((await ws.call(1, { v: 'c' })) as { ok: string }).ok;
    const ids = [];
    for (let i = 0; i < 2; i++) ids.push(((await ws.call(`r${i}`, { v: 'r', c })) as { ok: string }).ok);
    ws.send({ id: 's0', v: 'l', c, r: ids[0] });
    ws.send({ id: 's1', v: 'w', c });
    expect(await ws.call('s2', { v: 'l', c, r: ids[1] })).toEqual({
      id: 's2',
      error: "TooManyStreams('This connection already has 2 streams open')",
    });
    // Plain commands are not streams and still go through.
    expect(await ws.call(2, { v: 'd', c, r: ids[0], t: 'x' })).toEqual({ id: 2, ok: 'ack' });
    ws.send({ id: 's0', v: 'cancel' });
    ws.send({ id: 's3', v: 'l', c, r: ids[1] });
    await ws.call(3, { v: 'd', c, r: ids[1], t: 'through' });
    expect(await ws.next('s3')).toMatchObject({ data: { event: 'through' } });
    await ws.close();
  });

  it('a frame larger than maxFrameBytes closes that WebSocket with 1009; the bridge keeps serving others', async ({
    startStack,
  }) => {
    const stack = await startStack({ maxFrameBytes: 4096 });
    const big = await FrameClient.open(stack.bridge.url);
    const other = await FrameClient.open(stack.bridge.url);
    big.send({ id: 1, v: 'b', c: '1', t: 'x', p: 'y'.repeat(5000) });
    expect((await big.closed).code).toBe(1009);
    expect(await other.call(1, { v: 'c', p: 'y'.repeat(3000) })).toEqual({ id: 1, ok: expect.stringMatching(/^\d+$/) });
    await other.close();
  });

  it('with the socket server down: BackendUnavailable frames; the bridge stays up and recovers', async ({ dir }) => {
    const socketPath = join(dir, 'absent.sock');
    const bridge = await WebSocketBridge.start({ socketPath, port: 0 });
    onTestFinished(() => bridge.close());
    const ws = await FrameClient.open(bridge.url);
    expect(await ws.call(1, { v: 'c' })).toEqual({
      id: 1,
      error: expect.stringMatching(
        /^BackendUnavailable\('Cannot reach the socket server at .*absent\.sock \(ENOENT\)'\)$/,
      ),
    });
    ws.send({ id: 2, v: 'w', c: '1' });
    expect(await ws.until(2)).toEqual([{ id: 2, error: expect.stringMatching(/^BackendUnavailable\(/) }]);
    const server = new SocketServer(socketPath);
    await server.listen();
    onTestFinished(() => server.shutdown());
    expect(await ws.call(3, { v: 'c' })).toEqual({ id: 3, ok: expect.stringMatching(/^\d+$/) });
    // The server going away mid-stream ends the stream; later commands get clear errors again.
    const c = ((await ws.call(4, { v: 'c' })) as { ok: string }).ok;
    const r = ((await ws.call(5, { v: 'r', c })) as { ok: string }).ok;
    ws.send({ id: 6, v: 'l', c, r });
    await ws.call(7, { v: 'd', c, r, t: 'x' });
    expect(await ws.next(6)).toMatchObject({ data: { event: 'x' } });
    await server.shutdown();
    expect(await ws.until(6)).toEqual([{ id: 6, end: true }]);
    expect(await ws.call(8, { v: 'c' })).toEqual({ id: 8, error: expect.stringMatching(/^BackendUnavailable\(/) });
    await ws.close();
  });
});
