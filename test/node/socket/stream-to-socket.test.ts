import { connect } from 'node:net';
import { describe, expect } from 'vitest';
import { SocketClient } from '../../../bridge/index.js';
import { Message, SSEChannelContainer } from '../../../src/index.js';
import { sleep, take, until } from '../helpers/async.js';
import { it } from '../helpers/fixtures.js';
import { rawExchange } from '../helpers/socket.js';

/**
 * Streams on a connection of their own (eric-sse's way; the server's `stream-to-socket.ts`), and on a
 * session (docs/protocol.md, "Sessions"): the same behaviour either way.
 */
const modes = [
  { name: 'one connection per stream', sessions: false },
  { name: 'on a session', sessions: true },
];

describe.each(modes)('SocketServer streaming, $name', ({ sessions }) => {
  it.override('clientOptions', { sessions });

  it('uses no measurable CPU while a stream waits on an empty queue', async ({
    client,
    server,
    registered: { c, l },
  }) => {
    const stream = client.stream(c, l)[Symbol.asyncIterator]();
    const first = stream.next();
    await until(() => server.streams === 1, 'the stream to open');
    await sleep(50);
    // A polling loop would burn the whole window; an event-driven wait burns next to nothing.
    const before = process.cpuUsage();
    await sleep(300);
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1000).toBeLessThan(50);
    // …and the waiting stream still wakes at the next dispatch.
    await client.dispatch(c, l, 'wake');
    expect(JSON.parse((await first).value as string).event).toBe('wake');
    await stream.return?.();
  });

  it('a new stream of a listener takes over from the old one, which ends', async ({
    client,
    server,
    registered: { c, l },
  }) => {
    const old = client.stream(c, l)[Symbol.asyncIterator]();
    const oldFirst = old.next();
    await until(() => server.streams === 1, 'the first stream to open');
    const fresh = client.stream(c, l)[Symbol.asyncIterator]();
    const freshFirst = fresh.next();
    // The old stream ends without an event; the new one is the only one left.
    expect(await oldFirst).toEqual({ done: true, value: undefined });
    await until(() => server.streams === 1, 'the old stream to end');
    for (const t of ['a', 'b', 'c']) await client.dispatch(c, l, t);
    const got = [JSON.parse((await freshFirst).value as string).event];
    for (let i = 0; i < 2; i++) got.push(JSON.parse((await fresh.next()).value as string).event);
    expect(got).toEqual(['a', 'b', 'c']);
    await fresh.return?.();
  });

  it('takes messages only as the socket can take them: a consumer that leaves loses nothing still queued', async ({
    client,
    server,
    registered: { c, l },
  }) => {
    const channel = server.channels.get(c);
    const pad = 'x'.repeat(100);
    for (let i = 0; i < 10_000; i++) channel.dispatch(l, new Message('m', { i, pad }));

    const first = (await take(client.stream(c, l), 100)).map((line) => JSON.parse(line).data.i as number);
    expect(first).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await until(() => server.streams === 0, 'the first stream to end');

    // Backpressure: the server stopped taking when the departed client stopped reading.
    const left = channel.queueLength(l);
    expect(left).toBeGreaterThan(0);
    await sleep(50);
    expect(channel.queueLength(l)).toBe(left);

    const rest = (await take(client.stream(c, l), left)).map((line) => JSON.parse(line).data.i as number);
    expect(rest).toEqual(Array.from({ length: left }, (_, k) => 10_000 - left + k));
    expect(channel.queueLength(l)).toBe(0);
  });

  it('serves 100 concurrent streams, each in order', async ({ client, server }) => {
    const c = await client.createChannel();
    const ids = await Promise.all(Array.from({ length: 100 }, () => client.register(c)));
    const streams = ids.map((l) => take(client.stream(c, l), 6));
    await until(() => server.streams === 100, 'every stream to open');
    for (const l of ids) for (let n = 1; n <= 5; n++) await client.dispatch(c, l, 'n', n);
    await client.broadcastMessage(c, 'end');
    const results = await Promise.all(streams);
    for (const lines of results) {
      expect(lines.map((line) => JSON.parse(line).data)).toEqual([1, 2, 3, 4, 5, null]);
    }
  });

  it('fans 300 broadcasts from 30 concurrent clients out to 20 watchers: each gets all, once, in one order', async ({
    client,
    server,
  }) => {
    const c = await client.createChannel();
    const watches = Array.from({ length: 20 }, () => take(client.watch(c), 300));
    await until(() => server.streams === 20, 'every watch to open');
    let next = 0;
    await Promise.all(
      Array.from({ length: 30 }, async () => {
        while (next < 300) await client.broadcastMessage(c, 'tick', { n: next++, text: 'héllo' });
      }),
    );
    const events = (await Promise.all(watches)).map((lines) => lines.map((line) => JSON.parse(line)));
    const order = events[0]!.map((e) => e.data.n as number);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, n) => n));
    for (const watch of events) {
      // The same order everywhere (the order the server took the broadcasts in); each line its watch's own id.
      expect(watch.map((e) => e.data.n)).toEqual(order);
      expect(watch.every((e) => e.event === 'tick' && e.retry === 5 && e.data.text === 'héllo')).toBe(true);
      const [listener] = (watch[0].id as string).split(':');
      expect(watch.map((e) => e.id)).toEqual(watch.map((_, k) => `${listener}:${k + 1}`));
    }
    expect(new Set(events.map((watch) => watch[0].id.split(':')[0])).size).toBe(20);
  });

  it('serves 1,000 concurrent short commands', async ({ client, server, registered: { c, l } }) => {
    const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.dispatch(c, l, 'n', i)));
    expect(replies.every((reply) => reply === 'ack')).toBe(true);
    const channel = server.channels.get(c);
    expect(channel.queueLength(l)).toBe(1000);
    const lines = await take(client.stream(c, l), 1000);
    expect(new Set(lines.map((line) => JSON.parse(line).data)).size).toBe(1000);
  });

  it('a consumer that leaves an idle stream releases it on the server at once, and loses nothing', async ({
    client,
    server,
    registered: { c, l },
  }) => {
    const a = client.stream(c, l)[Symbol.asyncIterator]();
    await client.dispatch(c, l, 'n', 0);
    expect(JSON.parse((await a.next()).value as string).data).toBe(0);
    const watches = Array.from({ length: 100 }, () => client.watch(c)[Symbol.asyncIterator]());
    const firsts = watches.map((w) => w.next());
    await until(() => server.streams === 101, 'the watches to open');
    await client.broadcastMessage(c, 'hello');
    await Promise.all(firsts);
    await a.return?.();
    await Promise.all(watches.map((w) => w.return?.()));
    // No message is needed for the server to let go: the client said it was leaving (rs).
    await until(() => server.streams === 0, 'the server to end every stream');
    for (let i = 1; i <= 3; i++) await client.dispatch(c, l, 'n', i);
    expect(server.channels.get(c).queueLength(l)).toBe(3);
    const b = await take(client.stream(c, l), 3);
    expect(b.map((line) => JSON.parse(line).data)).toEqual([1, 2, 3]);
  });

  it('return() amid an idle next(): done, and the server lets go at once', async ({ client, server, registered }) => {
    const { c, l } = registered;
    const events = client.stream(c, l)[Symbol.asyncIterator]();
    const waiting = events.next();
    // Idle: nothing queued, so only the client's rs can tell the server it is gone.
    await until(() => server.streams === 1, 'the stream to open');
    await events.return?.();
    expect(await waiting).toEqual({ value: undefined, done: true });
    await until(() => server.streams === 0, 'the server to end the stream');
    await client.dispatch(c, l, 'n', 1);
    expect(server.channels.get(c).queueLength(l)).toBe(1);
  });

  it('a client that vanishes without a word is noticed at the next write, which goes back to the queue', async ({
    client,
    server,
    registered: { c, l },
  }) => {
    // A raw client (eric-sse's, say) that sends no rs: the server cannot tell it has gone.
    const socket = connect(server.path);
    socket.on('error', () => {});
    socket.end(JSON.stringify({ v: 'l', c, r: l }));
    await until(() => server.streams === 1, 'the stream to open');
    socket.destroy();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(server.streams).toBe(1);
    // The server cannot see the departure until it writes (just after answering the dispatch);
    // that write fails and the message goes back.
    await client.dispatch(c, l, 'n', 1);
    await until(() => server.streams === 0, 'the write to find the consumer gone');
    expect(server.channels.get(c).queueLength(l)).toBe(1);
    await client.dispatch(c, l, 'n', 2);
    const b = await take(client.stream(c, l), 2);
    expect(b.map((line) => JSON.parse(line).data)).toEqual([1, 2]);
  });

  it('an rs that comes before its stream ends that stream as it begins', async ({ client, server }) => {
    const c = await client.createChannel();
    expect(await client.sendRaw({ v: 'rs', s: 'gone-early' })).toBe('ack');
    expect(await rawExchange(server.path, JSON.stringify({ v: 'w', c, s: 'gone-early' }))).toBe('');
    expect(server.channels.get(c).size).toBe(0);
    // The key is spent: a stream that happens to reuse it later is served.
    const w = client.watch(c)[Symbol.asyncIterator]();
    const first = w.next();
    await until(() => server.streams === 1, 'the watch to open');
    await client.broadcastMessage(c, 'ok');
    expect(JSON.parse((await first).value as string).event).toBe('ok');
    await w.return?.();
  });

  it("SocketClient.stream's window: break loses at most what sat in the socket, about 256 KiB of lines", async ({
    client,
    server,
    registered: { c, l },
  }) => {
    const channel = server.channels.get(c);
    const total = 20_000;
    const pad = 'x'.repeat(250);
    for (let i = 0; i < total; i++) channel.dispatch(l, new Message('m', { i, pad }));
    const lineBytes = JSON.stringify({ event: 'm', retry: 5, data: { i: total, pad }, id: `${l}-${total}` }).length + 1;
    const stream = client.stream(c, l)[Symbol.asyncIterator]();
    for (let i = 0; i < 100; i++) expect(JSON.parse((await stream.next()).value as string).data.i).toBe(i);
    // Let the pipeline fill while the consumer does not read, then leave.
    let last = -1;
    for (let i = 0; i < 200 && channel.queueLength(l) !== last; i++) {
      last = channel.queueLength(l);
      await sleep(20);
    }
    await stream.return?.();
    await until(() => server.streams === 0, 'the stream to end');
    const lost = total - 100 - channel.queueLength(l);
    expect(lost * lineBytes).toBeLessThanOrEqual(300 * 1024);
    const rest = await take(client.stream(c, l), channel.queueLength(l));
    expect(rest.map((line) => JSON.parse(line).data.i)).toEqual(
      Array.from({ length: rest.length }, (_, k) => total - rest.length + k),
    );
  });

  it('paces a stream when the channels have a stream delay', async ({ startServer }) => {
    const paced = await startServer({ channels: new SSEChannelContainer({ streamDelaySeconds: 0.01 }) });
    const client = new SocketClient(paced.path, { sessions });
    const c = await client.createChannel();
    expect(paced.channels.get(c).streamDelaySeconds).toBe(0.01);
    const l = await client.register(c);
    for (let i = 0; i < 3; i++) await client.dispatch(c, l, 'n', i);
    const lines = await take(client.stream(c, l), 3);
    expect(lines.map((line) => JSON.parse(line).data)).toEqual([0, 1, 2]);
  });
});

describe.each(modes)('SocketServer streaming, $name: a message that cannot be streamed', ({ sessions }) => {
  it.override('clientOptions', { sessions });

  it('is streamed as one _eric_error event in its place; no stream ends, nothing else is lost', async ({
    client,
    server,
  }) => {
    const c = await client.createChannel();
    const watches = Array.from({ length: 100 }, () => take(client.watch(c), 3));
    await until(() => server.streams === 100, 'the watches to open');
    // In-process, a payload JSON cannot write: a cycle (the wire refuses what cannot stream).
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await client.broadcastMessage(c, 'before', 1);
    server.channels.get(c).broadcast(new Message('poison', cyclic as never));
    await client.broadcastMessage(c, 'after', 2);
    for (const lines of await Promise.all(watches)) {
      const events = lines.map((line) => JSON.parse(line));
      expect(events.map((e) => e.event)).toEqual(['before', '_eric_error', 'after']);
      expect(events[1].data).toEqual({
        type: 'poison',
        message: expect.stringMatching(/^This message cannot be streamed: Converting circular structure/),
      });
    }
    expect(await client.createChannel()).toMatch(/^\d+$/);
  });
});

describe.each(modes)('SocketServer streaming, $name: a failing listener', ({ sessions }) => {
  it.override('clientOptions', { sessions });
  const errors: string[] = [];
  it.override('serverOptions', { logger: { info() {}, warn() {}, error: (m) => errors.push(m) } });

  it('a listener whose onMessage throws ends its own stream with an error reply; the server goes on', async ({
    client,
    server,
    registered: { c, l },
  }) => {
    server.channels.get(c).getListener(l).onMessage = (msg) => {
      if (msg.type === 'bad') throw new Error('refused');
    };
    await client.dispatch(c, l, 'good');
    await client.dispatch(c, l, 'bad');
    const lines: string[] = [];
    await expect(
      (async () => {
        for await (const line of client.stream(c, l)) lines.push(line);
      })(),
    ).rejects.toThrow('Internal server error');
    expect(lines.map((line) => JSON.parse(line).event)).toEqual(['good']);
    expect(errors).toEqual([`stream of listener ${l}: refused`]);
    expect(await client.createChannel()).toMatch(/^\d+$/);
  });
});
