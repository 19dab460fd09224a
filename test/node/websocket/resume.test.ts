// BridgeClient and RemoteChannel resume exactly (docs/protocol.md, "Event ids, histories and resume"):
// the bridge process dies mid-stream with events in flight, five times; every event arrives once,
// in order, on an `l` and a `w` stream.
import { describe, expect } from 'vitest';
import { WebSocket } from 'ws';
import { WebSocketBridge } from '../../../bridge/index.js';
import {
  type BridgeClient,
  type BridgeState,
  MESSAGE_TYPE_GAP,
  Message,
  RemoteChannel,
  type SSEEvent,
} from '../../../src/index.js';
import { pokeUntil, sleep, take, until } from '../helpers/async.js';
import { it } from '../helpers/fixtures.js';

const fast = { initialDelayMs: 20, maxDelayMs: 200 };
/** A new remote channel and a listener of it. */
async function channelWithListener(client: BridgeClient) {
  const channel = await RemoteChannel.create(client);
  return { channel, listener: await channel.addListener() };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

/** Reads a stream into `into` in the background. */
function collectInto(stream: AsyncIterable<SSEEvent>, into: SSEEvent[]): Promise<void> {
  return (async () => {
    for await (const event of stream) into.push(event);
  })();
}

describe('BridgeClient resumes its streams', () => {
  it('the bridge process killed and restarted five times mid-stream: none lost, none twice, order kept', async ({
    server,
    startBridgeProcess,
    bridgeClient,
  }) => {
    const bridge = await startBridgeProcess(server.path, 'resume');
    const client = bridgeClient(bridge.url, { WebSocket, reconnect: fast });
    const reconnections: BridgeState[] = [];
    client.onStateChange((state) => state === 'reconnecting' && reconnections.push(state));

    // An `l` stream through RemoteChannel on one channel, a `w` watch through the client on another.
    const listened = await RemoteChannel.create(client);
    const listener = await listened.addListener();
    const watched = await client.createChannel();
    const direct = { l: server.channels.get(listened.id), w: server.channels.get(watched) };
    const got = { l: [] as SSEEvent[], w: [] as SSEEvent[] };
    const reading = [collectInto(listened.messageStream(listener), got.l), collectInto(client.watch(watched), got.w)];
    await until(() => direct.w.size === 1, 'the watch to register');
    const watchId = [...direct.w.listeners()][0]!.id;

    let produced = 0;
    const produce = (count: number) => {
      for (let k = 0; k < count; k++) {
        produced++;
        direct.l.dispatch(listener.id, new Message('n', produced));
        direct.w.broadcast(new Message('n', produced));
      }
    };
    const all = () => got.l.length === produced && got.w.length === produced;
    const written = () => direct.l.queueLength(listener.id) === 0 && direct.w.queueLength(watchId) === 0;

    for (let round = 1; round <= 5; round++) {
      produce(200);
      await until(all, `round ${round}: the stream to flow`);
      await bridge.killMidStream(() => produce(100), written);
      // The 100 were taken from the queues and died with the bridge: the client has not got them.
      expect(got.l.length).toBeLessThan(produced);
      expect(got.w.length).toBeLessThan(produced);
      produce(50); // queued while no bridge runs
      await bridge.restart();
    }
    produce(50);
    await until(all, 'every event to arrive');

    expect(produced).toBe(1800);
    for (const events of [got.l, got.w]) {
      expect(events.map((e) => e.data)).toEqual(range(1, produced));
      expect(events.some((e) => e.event === MESSAGE_TYPE_GAP)).toBe(false);
      expect(new Set(events.map((e) => e.id)).size).toBe(produced);
    }
    // The watch was resumed each time: the same listener all along.
    expect(direct.w.size).toBe(1);
    expect(reconnections.length).toBeGreaterThanOrEqual(5);
    client.close();
    await Promise.all(reading);
  });

  it('break from a slow consumer of a long queue, then resume: none lost, none twice, no gap, with defaults', async ({
    stack,
    remote,
  }) => {
    const { channel, listener } = await channelWithListener(remote);
    // 50,000 events of about 290 bytes wait; every buffer between the queue and the consumer fills.
    const total = 50_000;
    const queued = stack.backend.server.channels.get(channel.id);
    const text = 'x'.repeat(230);
    for (let n = 0; n < total; n++) queued.dispatch(listener.id, new Message('n', { n, text }));
    queued.dispatch(listener.id, new Message('last'));
    const got: SSEEvent[] = [];
    for await (const event of channel.messageStream(listener)) {
      got.push(event);
      if (got.length === 100) break;
      await sleep(10);
    }
    const all = [...got];
    for await (const event of channel.messageStream(listener, { lastEventId: got.at(-1)!.id })) {
      if (event.event === 'last') break;
      all.push(event);
    }
    expect(all.length).toBe(total);
    expect(all.filter((e) => e.event === MESSAGE_TYPE_GAP)).toEqual([]);
    expect(all.map((e) => (e.data as { n: number }).n)).toEqual(range(0, total - 1));
  });

  it('a stream opened with lastEventId continues an earlier one exactly, what a break left in flight too', async ({
    stack,
    remote,
  }) => {
    const { channel, listener } = await channelWithListener(remote);
    for (const n of range(1, 5)) await channel.dispatch(listener, new Message('n', n));
    const first = await take(channel.messageStream(listener), 2);
    // After the break, 3…5 may have been on their way: resuming after 2 replays whatever did not arrive.
    const rest = await take(channel.messageStream(listener, { lastEventId: first[1]!.id }), 3);
    expect([...first, ...rest].map((e) => e.data)).toEqual(range(1, 5));

    const watching = channel.watch()[Symbol.asyncIterator]();
    const heard = watching.next();
    const backend = stack.backend.server.channels.get(channel.id);
    await until(() => backend.size === 2, 'the watch to register');
    for (const n of range(1, 3)) await channel.broadcast(new Message('w', n));
    const watchedFirst = (await heard).value as SSEEvent;
    await watching.return?.();
    const resumed = await take(channel.watch({ lastEventId: watchedFirst.id }), 2);
    expect([watchedFirst, ...resumed].map((e) => e.data)).toEqual([1, 2, 3]);
  });
});

describe("BridgeClient in front of eric-sse's server (no ids)", () => {
  it.override('protocol', 'eric-sse');

  it('after a reconnect a watch re-opens as a new watch, as before ids', async ({
    protocolServer,
    protocolClient,
    bridgeClient,
  }) => {
    let bridge = await WebSocketBridge.start({ socketPath: protocolServer, port: 0, token: 'py' });
    try {
      const client = bridgeClient(bridge.url, { WebSocket, reconnect: { initialDelayMs: 10, maxDelayMs: 100 } });
      const c = await client.createChannel();
      const events = client.watch(c)[Symbol.asyncIterator]();
      /** The next event, broadcasting `type` until there is one (eric-sse registers a watch when it gets to it). */
      const hear = async (type: string) =>
        (await pokeUntil(events.next(), (i) => protocolClient.broadcastMessage(c, type, i), `a ${type} event`))
          .value as SSEEvent;
      expect(await hear('before')).toEqual({ event: 'before', retry: 5, data: expect.any(Number) });
      await bridge.close();
      bridge = await WebSocketBridge.start({ socketPath: protocolServer, port: bridge.port, token: 'py' });
      // No id to resume after: a new watch, which hears what is broadcast from then on (the first
      // watch's events still waiting in the client come first).
      let event = await hear('after');
      for (let i = 0; i < 1000 && event.event === 'before'; i++) event = await hear('after');
      expect(event).toEqual({ event: 'after', retry: 5, data: expect.any(Number) });
      await events.return?.();
    } finally {
      await bridge.close();
    }
  });
});
