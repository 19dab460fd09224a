import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type BridgeOptions, SocketClient, WebSocketBridge } from '../../../bridge/index.js';
import { Message } from '../../../src/index.js';
import { until } from '../helpers/async.js';
import { floodUntilBackedUp, startStack } from '../helpers/bridge.js';
import { openSse } from '../helpers/http.js';
import { scriptedServer } from '../helpers/socket.js';

const TOKEN = 'sse-token';
const auth = { Authorization: `Bearer ${TOKEN}` };

/**
 * Event lines as eric-bus's server writes them once it gives ids
 * (docs/protocol.md, "Event ids, histories and resume").
 */
const line = (n: number, withId = true) =>
  JSON.stringify({ event: 'n', retry: 5, data: { n }, ...(withId ? { id: String(n) } : {}) }) + '\n';

describe('HTTP face: event streams in front of any server of the protocol', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function bridgeTo(path: string, options: Partial<BridgeOptions> = {}) {
    const bridge = await WebSocketBridge.start({ socketPath: path, port: 0, token: TOKEN, ...options });
    cleanups.push(() => bridge.close());
    return { bridge, base: `http://127.0.0.1:${bridge.port}` };
  }

  it('writes id: when the line has one and none when it has not; lastEventId follows the ids', async () => {
    const backend = await scriptedServer((command, socket) => {
      socket.write(line(1) + line(2, false) + line(3));
      if (command.v === 'w') socket.end();
    });
    cleanups.push(backend.close);
    const { base } = await bridgeTo(backend.path);
    const stream = await openSse(`${base}/channels/1/events`, auth);
    await stream.ended;
    expect(stream.text).toBe(
      'id: 1\nevent: n\nretry: 5\ndata: {"n":1}\n\n' +
        'event: n\nretry: 5\ndata: {"n":2}\n\n' +
        'id: 3\nevent: n\nretry: 5\ndata: {"n":3}\n\n',
    );
    expect(stream.parser.events.map((e) => [e.id, e.lastEventId])).toEqual([
      ['1', '1'],
      [undefined, '1'],
      ['3', '3'],
    ]);
  });

  it("turns Last-Event-ID (or ?lastEventId=) into the command's i; the header wins, as on a reconnect", async () => {
    const backend = await scriptedServer((_command, socket) => socket.end(line(9)));
    cleanups.push(backend.close);
    const { base } = await bridgeTo(backend.path);
    const open = async (path: string, headers: Record<string, string> = {}) =>
      (await openSse(base + path, { ...auth, ...headers })).ended;
    await open('/channels/c1/listeners/r1/events', { 'Last-Event-ID': '41' });
    await open('/channels/c1/events?lastEventId=7');
    await open('/channels/c1/listeners/r1/events?lastEventId=7', { 'Last-Event-ID': '42' });
    await open('/channels/c1/listeners/r1/events');
    await open('/channels/c1/events?lastEventId=', { 'Last-Event-ID': '' });
    // Each stream also carries its key (s), for the rs that ends it on the server if the client leaves.
    const s = expect.any(String);
    expect(backend.commands.filter((command) => command.v !== 'rs')).toEqual([
      { v: 'l', c: 'c1', r: 'r1', i: '41', s },
      { v: 'w', c: 'c1', i: '7', s },
      { v: 'l', c: 'c1', r: 'r1', i: '42', s },
      { v: 'l', c: 'c1', r: 'r1', s },
      { v: 'w', c: 'c1', s },
    ]);
  });

  it('an idle stream opens after the wait (200, headers flushed); a keep-alive comment each interval', async () => {
    let socket: Socket | undefined;
    const backend = await scriptedServer((_command, s) => (socket = s));
    cleanups.push(backend.close);
    const { base } = await bridgeTo(backend.path, { sseOpenWaitMs: 10, sseKeepAliveMs: 20 });
    const stream = await openSse(`${base}/channels/1/events`, auth);
    expect(stream.status).toBe(200);
    await until(() => stream.parser.comments.length >= 2 && socket !== undefined, 'two keep-alive comments');
    expect(stream.parser.comments.slice(0, 2)).toEqual([' keep-alive', ' keep-alive']);
    expect(stream.parser.events).toEqual([]);
    socket!.end(line(1));
    await stream.ended;
    expect(stream.parser.events.map((e) => e.data)).toEqual(['{"n":1}']);
  });

  it('an error after the stream opened arrives as an _eric_error event, then the stream ends', async () => {
    let socket: Socket | undefined;
    const backend = await scriptedServer((_command, s) => (socket = s));
    cleanups.push(backend.close);
    const { base } = await bridgeTo(backend.path, { sseOpenWaitMs: 0 });
    const stream = await openSse(`${base}/channels/1/events`, auth);
    expect(stream.status).toBe(200);
    await until(() => socket !== undefined, 'the command to reach the server');
    socket!.end("InvalidChannelException('No channel with id 1')");
    await stream.ended;
    expect(stream.parser.events).toEqual([
      {
        type: '_eric_error',
        data: JSON.stringify({ error: "InvalidChannelException('No channel with id 1')" }),
        lastEventId: '',
      },
    ]);
  });

  it('a line that is not an event: the events before it arrive, then an _eric_error naming it', async () => {
    const backend = await scriptedServer((_command, socket) => socket.end(`${line(1)}{"event": oops}\n${line(2)}`));
    cleanups.push(backend.close);
    const { base } = await bridgeTo(backend.path);
    const stream = await openSse(`${base}/channels/1/events`, auth);
    await stream.ended;
    expect(stream.parser.events.map((e) => [e.type, e.data])).toEqual([
      ['n', '{"n":1}'],
      ['_eric_error', JSON.stringify({ error: `UnreadableEventLine('Not an event line: {"event": oops}')` })],
    ]);
  });

  it('a client that goes away closes its Unix connection at once', async () => {
    let socket: Socket | undefined;
    let closed = false;
    let removed: unknown;
    const backend = await scriptedServer((command, s) => {
      // The bridge names the stream it gave up (rs) on a connection of its own.
      if (command.v === 'rs') return void s.end('ack', () => (removed = command.s));
      socket = s;
      s.once('close', () => (closed = true));
      s.write(line(1));
    });
    cleanups.push(backend.close);
    const { base } = await bridgeTo(backend.path);
    const stream = await openSse(`${base}/channels/1/events`, auth);
    await stream.events(1);
    stream.close();
    // The server learns of a closed Unix connection when it writes: it writes until its write fails.
    let n = 2;
    await until(() => {
      if (!closed) socket!.write(line(n++));
      return closed;
    }, 'the Unix connection to close');
    expect(closed).toBe(true);
    await until(() => removed !== undefined, 'the bridge to tell the server the stream has gone');
    expect(removed).toEqual([expect.any(String)]);
  });
});

describe('HTTP face: event streams from our server', () => {
  let stack: Awaited<ReturnType<typeof startStack>> | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('loses nothing when the client goes away: what comes after stays queued for the next stream', async () => {
    stack = await startStack({ token: TOKEN });
    const direct = new SocketClient(stack.backend.path);
    const c = await direct.createChannel();
    const r = await direct.register(c);
    const base = `http://127.0.0.1:${stack.bridge.port}/channels/${c}/listeners/${r}/events`;
    for (let n = 0; n < 3; n++) await direct.dispatch(c, r, 'n', n);
    const first = await openSse(base, auth);
    expect((await first.events(3)).map((e) => Number(e.data))).toEqual([0, 1, 2]);
    first.close();
    // Once the bridge has let go (its rs): a message dispatched before that could still go out on the
    // stream the client is leaving, the bridge reading it just as the client goes.
    await until(() => stack!.backend.server.streams === 0, 'the server to see the stream gone');
    await direct.dispatch(c, r, 'n', 3);
    const second = await openSse(base, auth);
    await direct.dispatch(c, r, 'n', 4);
    expect((await second.events(2)).map((e) => Number(e.data))).toEqual([3, 4]);
    second.close();
  });

  it('resumes exactly with Last-Event-ID: five departures mid-stream, every message once, in order', async () => {
    // A history that reaches back past whatever the buffers held when the client left
    // (docs/protocol.md, "Event ids, histories and resume").
    stack = await startStack({ token: TOKEN }, { history: 100_000 });
    const direct = new SocketClient(stack.backend.path);
    const c = await direct.createChannel();
    const r = await direct.register(c);
    const total = 5_000;
    const channel = stack.backend.server.channels.get(c);
    for (let n = 0; n < total; n++) channel.dispatch(r, new Message('n', n));
    const url = `http://127.0.0.1:${stack.bridge.port}/channels/${c}/listeners/${r}/events`;
    const received: number[] = [];
    let lastEventId = '';
    for (let round = 0; round < 6 && received.length < total; round++) {
      const stream = await openSse(url, lastEventId ? { ...auth, 'Last-Event-ID': lastEventId } : auth);
      // Leave after a share of what is left (everything in the last round), wherever the stream is.
      const want = round < 5 ? Math.ceil((total - received.length) / 4) : total - received.length;
      const events = await stream.events(want);
      stream.close();
      received.push(...events.map((e) => JSON.parse(e.data) as number));
      lastEventId = events.at(-1)!.lastEventId;
      expect(events.every((e) => e.type === 'n' && e.id !== undefined)).toBe(true);
    }
    expect(received).toEqual(Array.from({ length: total }, (_, n) => n));
  });

  it('backpressure: a client that does not read stops the Unix stream; all arrive, once, in order', async () => {
    stack = await startStack({ token: TOKEN });
    const direct = new SocketClient(stack.backend.path);
    const c = await direct.createChannel();
    const r = await direct.register(c);
    await direct.dispatch(c, r, 'first', 0);
    const stream = await openSse(`http://127.0.0.1:${stack.bridge.port}/channels/${c}/listeners/${r}/events`, auth);
    await stream.events(1);
    stream.pause();
    const total = 20_000;
    const queued = await floodUntilBackedUp(stack.backend.server.channels.get(c), r, total);
    // ~20 MB dispatched; the bridge holds about 1 MiB for the response and the kernel some: most stays queued.
    expect(queued).toBeGreaterThan(total / 2);
    stream.resume();
    const events = await stream.events(total + 1);
    expect(events.slice(1).map((e) => (JSON.parse(e.data) as { i: number }).i)).toEqual(
      Array.from({ length: total }, (_, k) => k + 1),
    );
    stream.close();
  });

  it('closing the bridge ends its event streams cleanly and releases their Unix connections', async () => {
    stack = await startStack({ token: TOKEN, sseOpenWaitMs: 0 }, { watchGraceMs: 0 });
    const direct = new SocketClient(stack.backend.path);
    const c = await direct.createChannel();
    const streams = await Promise.all(
      Array.from({ length: 5 }, () => openSse(`http://127.0.0.1:${stack!.bridge.port}/channels/${c}/events`, auth)),
    );
    await until(() => stack!.backend.server.streams === 5, 'five watches to open');
    await stack.bridge.close();
    await Promise.all(streams.map((s) => s.ended));
    await direct.broadcastMessage(c, 'after', null);
    await until(() => stack!.backend.server.streams === 0, 'the watches to end on the server');
    expect(stack.backend.server.channels.get(c).size).toBe(0);
  });
});
