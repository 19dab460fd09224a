import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { WebSocket } from 'ws';
import { SocketClient, WebSocketBridge } from '../../../bridge/index.js';
import {
  BridgeRefused,
  type BridgeState,
  ClientClosed,
  ConnectionLost,
  InvalidChannelException,
  InvalidListenerException,
  MESSAGE_TYPE_CLOSED,
  Message,
  RemoteChannel,
  type SSEEvent,
  TooManyStreams,
  VerbNotAllowed,
} from '../../../src/index.js';
import { collect, sleep, take, until } from '../helpers/async.js';
import { it } from '../helpers/fixtures.js';

const fast = { initialDelayMs: 10, maxDelayMs: 100 };

describe('BridgeClient (Node, ws injected) against a real bridge and SocketServer', () => {
  it('has every SocketClient method, with typed errors', async ({ remote: client }) => {
    const c = await client.createChannel();
    const l = await client.register(c);
    expect(await client.dispatch(c, l, 'hello', { to: 'you' })).toBe('ack');
    expect(await client.broadcastMessage(c, 'news')).toBe('ack');
    expect(await take(client.stream(c, l), 2)).toEqual([
      { event: 'hello', retry: 5, data: { to: 'you' }, id: `${l}:1` },
      { event: 'news', retry: 5, data: null, id: `${l}:2` },
    ]);
    expect(await client.removeListener(c, l)).toBe('ack');
    expect(await client.removeChannel(c)).toBe('ack');
    await expect(client.register(c)).rejects.toThrow(InvalidChannelException);
    await expect(client.register(c)).rejects.toThrow(`No channel with id ${c}`);
    const c2 = await client.createChannel();
    await expect(client.dispatch(c2, 'nobody', 'x')).rejects.toBeInstanceOf(InvalidListenerException);
    await expect(take(client.stream(c2, 'nobody'), 1)).rejects.toBeInstanceOf(InvalidListenerException);
    expect(client.state).toBe('connected');
  });

  it('break cancels a stream on the bridge; what was not delivered stays queued for the next stream', async ({
    stack,
    remote: client,
  }) => {
    const c = await client.createChannel();
    const l = await client.register(c);
    for (let n = 0; n < 3; n++) await client.dispatch(c, l, 'n', n);
    for await (const event of client.stream(c, l)) {
      expect(event.data).toBe(0);
      break;
    }
    for (let n = 3; n < 6; n++) await client.dispatch(c, l, 'n', n);
    await until(() => stack.backend.server.streams === 0, 'the cancelled stream to end');
    // 1 and 2 may already have crossed to the bridge when the cancel arrived; 3..5 certainly wait.
    const rest = (await take(client.stream(c, l), stack.backend.server.channels.get(c).queueLength(l))).map(
      (e) => e.data,
    );
    expect(rest.slice(-3)).toEqual([3, 4, 5]);
  });

  it("a slow consumer's stream holds at most its window ahead; after break the rest is still queued", async ({
    stack,
    bridgeClient,
  }) => {
    const client = bridgeClient(stack.bridge.url, { WebSocket, streamWindow: 64 });
    const c = await client.createChannel();
    const l = await client.register(c);
    const channel = stack.backend.server.channels.get(c);
    const total = 20_000;
    const pad = 'x'.repeat(250);
    for (let i = 0; i < total; i++) channel.dispatch(l, new Message('m', { i, pad }));
    const lineBytes = JSON.stringify({ event: 'm', retry: 5, data: { i: total, pad }, id: `${l}:${total}` }).length + 1;
    // At most the window, plus what sits between the server and the bridge: the Unix socket's buffers
    // and what the bridge has read (a few hundred KiB with Linux defaults, see docs/bridge.md).
    const window = 64 + Math.ceil((450 * 1024) / lineBytes);
    const stream = client.stream(c, l)[Symbol.asyncIterator]();
    for (let i = 0; i < 100; i++) expect(((await stream.next()).value as SSEEvent<{ i: number }>).data.i).toBe(i);
    // The consumer stops for a while: the server stops handing messages out.
    let last = -1;
    for (let i = 0; i < 200 && channel.queueLength(l) !== last; i++) {
      last = channel.queueLength(l);
      await sleep(20);
    }
    expect(total - 100 - channel.queueLength(l)).toBeLessThanOrEqual(window);
    await stream.return?.();
    await until(() => stack.backend.server.streams === 0, 'the stream to end on the server');
    const queued = channel.queueLength(l);
    expect(total - 100 - queued).toBeLessThanOrEqual(window);
    // The next stream gets exactly what was queued, in order: nothing twice.
    const rest = await take(client.stream(c, l), queued);
    expect(rest.map((e) => (e as SSEEvent<{ i: number }>).data.i)).toEqual(
      Array.from({ length: queued }, (_, k) => total - queued + k),
    );
  });

  it('streams many at once over one WebSocket', async ({ remote: client }) => {
    const c = await client.createChannel();
    const ids = await Promise.all(Array.from({ length: 8 }, () => client.register(c)));
    const reading = ids.map((l) => take(client.stream(c, l), 50));
    await Promise.all(ids.flatMap((l, i) => Array.from({ length: 50 }, (_, n) => client.dispatch(c, l, `l${i}`, n))));
    const results = await Promise.all(reading);
    results.forEach((events, i) => {
      expect(events).toEqual(
        Array.from({ length: 50 }, (_, n) => ({ event: `l${i}`, retry: 5, data: n, id: `${ids[i]}:${n + 1}` })),
      );
    });
  });

  it('RemoteChannel gives a backend channel the in-page shapes', async ({ stack, remote: client }) => {
    const channel = await RemoteChannel.create(client);
    const listener = await channel.addListener();
    await channel.dispatch(listener, new Message('hello', { n: 1 }));
    await channel.broadcast(new Message('news', 'to everyone'));
    const events: SSEEvent[] = [];
    for await (const event of channel.messageStream(listener)) {
      events.push(event);
      if (event.event === 'news') await channel.removeListener(listener);
    }
    expect(events).toEqual([
      { event: 'hello', retry: 5, data: { n: 1 }, id: `${listener.id}:1` },
      { event: 'news', retry: 5, data: 'to everyone', id: `${listener.id}:2` },
      { event: MESSAGE_TYPE_CLOSED, retry: 5, data: null, id: `${listener.id}:3` },
    ]);
    const watched = collect(channel.watch());
    const backend = stack.backend.server.channels.get(channel.id);
    await until(() => backend.size > 0, "the watch's listener");
    await channel.broadcast(new Message('tick', 1));
    await channel.remove();
    expect((await watched).map((event) => event.data)).toEqual([1, null]);
  });

  it('refuses: bridge-side errors are typed (VerbNotAllowed, TooManyStreams)', async ({ startStack, bridgeClient }) => {
    const stack = await startStack({ allow: ['c', 'r', 'l'], maxStreams: 1 });
    const client = bridgeClient(stack.bridge.url, { WebSocket });
    const c = await client.createChannel();
    await expect(client.dispatch(c, '1', 'x')).rejects.toBeInstanceOf(VerbNotAllowed);
    const l1 = await client.register(c);
    const l2 = await client.register(c);
    const first = client.stream(c, l1)[Symbol.asyncIterator]();
    const pending = first.next();
    await expect(take(client.stream(c, l2), 1)).rejects.toBeInstanceOf(TooManyStreams);
    await first.return?.();
    await pending;
  });

  it('a wrong token puts the client in the final refused state: BridgeRefused (401), no retrying', async ({
    startStack,
    bridgeClient,
  }) => {
    const stack = await startStack({ token: 'right' });
    const client = bridgeClient(`ws://127.0.0.1:${stack.bridge.port}/`, { WebSocket, token: 'wrong', reconnect: fast });
    const states: BridgeState[] = [];
    client.onStateChange((s) => states.push(s));
    const refused = await client.whenConnected().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(BridgeRefused);
    expect((refused as BridgeRefused).status).toBe(401);
    expect(client.state).toBe('refused');
    expect(states).toEqual(['refused']);
    await expect(client.createChannel()).rejects.toBeInstanceOf(BridgeRefused);
    await expect(take(client.watch('1'), 1)).rejects.toBeInstanceOf(BridgeRefused);
  });

  it('on a list of bridges, a refusal is final only once every one has refused; one that takes it is used', async ({
    startStack,
    startServer,
    bridgeClient,
  }) => {
    const good = await startStack({ token: 'right' });
    const server = await startServer();
    const refusing = [];
    for (let k = 0; k < 2; k++)
      refusing.push(await WebSocketBridge.start({ socketPath: server.path, port: 0, token: 'other' }));
    try {
      const bare = (port: number) => `ws://127.0.0.1:${port}/`;
      const [a, b] = refusing.map((bridge) => bare(bridge.port)) as [string, string];
      // Refused by the first, taken by the second.
      const taken = bridgeClient([a, bare(good.bridge.port)], { WebSocket, token: 'right', reconnect: fast });
      await taken.whenConnected();
      const made = await taken.createChannel();
      expect(good.backend.server.channels.get(made).id).toBe(made);
      // Refused by both: final, after both were asked.
      const states: BridgeState[] = [];
      const refused = bridgeClient([a, b], { WebSocket, token: 'right', reconnect: fast });
      refused.onStateChange((state) => states.push(state));
      const error = await refused.whenConnected().catch((reason: unknown) => reason);
      expect(error).toBeInstanceOf(BridgeRefused);
      expect(states).toEqual(['reconnecting', 'refused']);
    } finally {
      for (const bridge of refusing) await bridge.close();
    }
  });

  it('survives a bridge restart mid-stream: reconnects, resumes the stream, loses nothing queued', async ({
    startStack,
    bridgeClient,
  }) => {
    const stack = await startStack({ token: 'restart' });
    const port = stack.bridge.port;
    const client = bridgeClient(stack.bridge.url, { WebSocket, reconnect: fast });
    const c = await client.createChannel();
    const l = await client.register(c);
    const states: BridgeState[] = [];
    client.onStateChange((s) => states.push(s));
    const events = client.stream(c, l)[Symbol.asyncIterator]();
    const received: unknown[] = [];
    for (let n = 0; n < 5; n++) await client.dispatch(c, l, 'n', n);
    while (received.length < 5) received.push((await events.next()).value?.data);

    await stack.bridge.close();
    // While the bridge is down the server keeps queueing for the listener.
    const direct = new SocketClient(stack.backend.path);
    for (let n = 5; n < 10; n++) await direct.dispatch(c, l, 'n', n);
    // A command issued while reconnecting waits for the connection instead of failing.
    const queuedCommand = client.dispatch(c, l, 'n', 10);
    stack.bridge = await WebSocketBridge.start({ socketPath: stack.backend.path, port, token: 'restart' });

    expect(await queuedCommand).toBe('ack');
    while (received.length < 11) received.push((await events.next()).value?.data);
    expect(received).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toBe('connected');
    await events.return?.();
  });

  it('a command in flight when the connection drops fails with ConnectionLost (it is not replayed)', async ({
    dir,
    bridgeClient,
  }) => {
    // A server of the protocol that never answers: the command stays in flight.
    const socketPath = join(dir, 'silent.sock');
    const held: Socket[] = [];
    const silent = createServer({ allowHalfOpen: true }, (socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(socketPath, resolve));
    const bridge = await WebSocketBridge.start({ socketPath, port: 0 });
    try {
      const client = bridgeClient(bridge.url, { WebSocket, reconnect: false });
      const pending = client.createChannel().catch((error: unknown) => error);
      await until(() => held.length > 0, 'the command to reach the silent server');
      expect(held).toHaveLength(1);
      await bridge.close();
      expect(await pending).toBeInstanceOf(ConnectionLost);
      // With reconnection off, the client gives up: final state closed.
      await expect(client.whenConnected()).rejects.toBeInstanceOf(ConnectionLost);
      expect(client.state).toBe('closed');
    } finally {
      await bridge.close();
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('close() ends open streams, fails later commands with ClientClosed, and closes the WebSocket', async ({
    stack,
    remote: client,
  }) => {
    const c = await client.createChannel();
    const l = await client.register(c);
    const events = client.stream(c, l)[Symbol.asyncIterator]();
    const next = events.next();
    await client.dispatch(c, l, 'one');
    expect((await next).value).toMatchObject({ event: 'one' });
    const ending = events.next();
    client.close();
    expect(await ending).toEqual({ value: undefined, done: true });
    expect(client.state).toBe('closed');
    await expect(client.createChannel()).rejects.toBeInstanceOf(ClientClosed);
    await until(() => stack.bridge.connections === 0, 'the WebSocket to close');
  });
});
