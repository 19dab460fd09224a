// docs/protocol.md, "Bounded streams: n" through the bridge: it relays `n` to the server (which
// judges it) and the server's end; BridgeClient's `limit` sends it, and re-opens a stream after a
// reconnection with what is left of it.
import { describe, expect } from 'vitest';
import { WebSocket } from 'ws';
import { RedisStore, SocketClient, WebSocketBridge } from '../../../bridge/index.js';
import { formatException, InvalidMessageFormat, MESSAGE_TYPE_GAP, type SSEEvent } from '../../../src/index.js';
import { collect, until } from '../helpers/async.js';
import { FrameClient, type Stack } from '../helpers/bridge.js';
import { it } from '../helpers/fixtures.js';
import { hasRedisServer, type RedisServer, redisForTests } from '../helpers/redis.js';
import type { TestServerOptions } from '../helpers/socket.js';

const fast = { initialDelayMs: 10, maxDelayMs: 100 };
let prefixes = 0;

/** The server's options for channels in memory, or on the Redis `redis()` gives (a prefix per test). */
type Store = { name: string; serverOptions: () => Promise<TestServerOptions> };

function stores(redis: (() => RedisServer) | undefined): Store[] {
  const memory: Store = { name: 'in memory', serverOptions: async () => ({}) };
  if (!redis) return [memory];
  const onRedis: Store = {
    name: 'on Redis',
    serverOptions: async () => ({
      store: await RedisStore.connect(redis().url, { prefix: `bounded-${process.pid}-${++prefixes}:` }),
    }),
  };
  return [memory, onRedis];
}

describe('the bridge and bounded streams (n)', () => {
  const redis = hasRedisServer ? redisForTests() : undefined;

  describe.each(stores(redis))('channels $name', ({ serverOptions }) => {
    /** A stack on this store, a channel and a listener with messages 1…`count` queued. */
    async function queued(startStack: (o?: object, s?: TestServerOptions) => Promise<Stack>, count: number) {
      const stack = await startStack({}, await serverOptions());
      const direct = new SocketClient(stack.backend.path);
      const c = await direct.createChannel();
      const l = await direct.register(c);
      for (let n = 1; n <= count; n++) await direct.dispatch(c, l, 'n', n);
      return { stack, direct, c, l };
    }

    it("relays a frame's n to the server, and the end the server gives the stream after n events", async ({
      startStack,
    }) => {
      const { stack, c, l } = await queued(startStack, 3);
      const frames = await FrameClient.open(stack.bridge.url);
      try {
        frames.send({ id: 1, v: 'l', c, r: l, n: 1 });
        expect(await frames.until(1)).toEqual([
          { id: 1, data: { event: 'n', retry: 5, data: 1, id: `${l}:1` } },
          { id: 1, end: true },
        ]);
        frames.send({ id: 2, v: 'l', c, r: l, n: 2 });
        expect(await frames.until(2)).toEqual([
          { id: 2, data: { event: 'n', retry: 5, data: 2, id: `${l}:2` } },
          { id: 2, data: { event: 'n', retry: 5, data: 3, id: `${l}:3` } },
          { id: 2, end: true },
        ]);
        // The server judges n, and its refusal comes back under the frame's id.
        for (const [id, n] of [
          [3, 0],
          [4, 1.5],
        ] as const)
          expect(await frames.call(id, { v: 'l', c, r: l, n })).toEqual({
            id,
            error: formatException(
              new InvalidMessageFormat(`Event limit 'n' must be a positive whole number, not ${n}`),
            ),
          });
        frames.send({ id: 5, v: 'w', c, i: 'nobody:1', n: 1 });
        const [gap, end] = await frames.until(5);
        expect(gap).toMatchObject({ id: 5, data: { event: MESSAGE_TYPE_GAP, data: { after: 'nobody:1' } } });
        expect(end).toEqual({ id: 5, end: true });
      } finally {
        await frames.close();
      }
    });

    it('BridgeClient with limit: n events each, the rest queued for the next; a watch likewise', async ({
      startStack,
      bridgeClient,
    }) => {
      const { stack, direct, c, l } = await queued(startStack, 3);
      const client = bridgeClient(stack.bridge.url, { WebSocket });
      const first = await collect(client.stream(c, l, { limit: 1 }));
      expect(first.map((e) => [e.data, e.id])).toEqual([[1, `${l}:1`]]);
      const rest = await collect(client.stream(c, l, { limit: 2 }));
      expect(rest.map((e) => [e.data, e.id])).toEqual([
        [2, `${l}:2`],
        [3, `${l}:3`],
      ]);
      await direct.dispatch(c, l, 'n', 4);
      expect((await collect(direct.stream(c, l, { limit: 1 }))).map((e) => JSON.parse(e).data)).toEqual([4]);

      const [gap] = await collect(client.watch(c, { lastEventId: 'nobody:3', limit: 1 }));
      expect(gap).toMatchObject({ event: MESSAGE_TYPE_GAP });
      for (let n = 1; n <= 3; n++) await direct.broadcastMessage(c, 'b', n);
      const heard: SSEEvent[] = [];
      for (const limit of [2, 1])
        heard.push(...(await collect(client.watch(c, { lastEventId: (heard.at(-1) ?? gap!).id, limit }))));
      const w = gap!.id!.split(':')[0];
      expect(heard.map((e) => [e.data, e.id])).toEqual([
        [1, `${w}:1`],
        [2, `${w}:2`],
        [3, `${w}:3`],
      ]);
    });
  });

  it('after a reconnection, BridgeClient asks for what is left of n: the rest stays queued', async ({
    startStack,
    bridgeClient,
  }) => {
    const stack = await startStack({ token: 'bounded' });
    const { port } = stack.bridge;
    const direct = new SocketClient(stack.backend.path);
    const c = await direct.createChannel();
    const l = await direct.register(c);
    const client = bridgeClient(stack.bridge.url, { WebSocket, reconnect: fast });
    const events = client.stream(c, l, { limit: 8 })[Symbol.asyncIterator]();
    const got: unknown[] = [];
    for (let n = 1; n <= 5; n++) await direct.dispatch(c, l, 'n', n);
    while (got.length < 5) got.push((await events.next()).value?.data);

    await stack.bridge.close();
    await until(() => stack.backend.server.streams === 0, 'the stream to end with the bridge');
    for (let n = 6; n <= 10; n++) await direct.dispatch(c, l, 'n', n);
    stack.bridge = await WebSocketBridge.start({ socketPath: stack.backend.path, port, token: 'bounded' });
    got.push(...(await collect(events)).map((e) => e.data));
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // The re-opened stream asked for 3: the server took no more.
    await until(() => stack.backend.server.streams === 0, 'the re-opened stream to end');
    expect(stack.backend.server.channels.get(c).queueLength(l)).toBe(2);
    expect((await collect(direct.stream(c, l, { limit: 2 }))).map((e) => JSON.parse(e).data)).toEqual([9, 10]);
  });
});
