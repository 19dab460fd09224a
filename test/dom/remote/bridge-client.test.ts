// BridgeClient as a page uses it: the environment's own WebSocket and fetch (happy-dom's here),
// nothing injected, against a real bridge and SocketServer.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketBridge } from '../../../bridge/index.js';
import { BridgeClient, BridgeRefused, type BridgeState, Message, RemoteChannel } from '../../../src/index.js';
import { startStack } from '../../node/helpers/bridge.js';

type Stack = Awaited<ReturnType<typeof startStack>>;

describe('BridgeClient with the page WebSocket (happy-dom)', () => {
  let stack: Stack | undefined;
  let client: BridgeClient | undefined;
  afterEach(async () => {
    client?.close();
    client = undefined;
    await stack?.close();
    stack = undefined;
  });

  it('connects with the global WebSocket and drives a backend channel through RemoteChannel', async () => {
    expect(typeof globalThis.WebSocket).toBe('function');
    stack = await startStack();
    client = new BridgeClient(stack.bridge.url);
    const channel = await RemoteChannel.create(client);
    const alice = await channel.addListener();
    const bob = await channel.addListener();
    await channel.dispatch(alice, new Message('hello', { to: 'alice' }));
    await channel.broadcast(new Message('news', [1, 2]));
    const seen: unknown[] = [];
    for await (const event of channel.messageStream(alice)) {
      seen.push(event);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([
      { event: 'hello', retry: 5, data: { to: 'alice' }, id: `${alice.id}:1` },
      { event: 'news', retry: 5, data: [1, 2], id: `${alice.id}:2` },
    ]);
    const [first] = await (async () => {
      for await (const event of channel.messageStream(bob.id)) return [event];
      return [];
    })();
    expect(first).toEqual({ event: 'news', retry: 5, data: [1, 2], id: `${bob.id}:1` });
    expect(client.state).toBe('connected');
  });

  it('reconnects after the bridge restarts and resumes its stream without losing what was queued', async () => {
    stack = await startStack({ token: 'page' });
    const port = stack.bridge.port;
    client = new BridgeClient(`ws://127.0.0.1:${port}/`, {
      token: 'page',
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    const channel = await RemoteChannel.create(client);
    const listener = await channel.addListener();
    const states: BridgeState[] = [];
    client.onStateChange((state) => states.push(state));
    const events = channel.messageStream(listener)[Symbol.asyncIterator]();
    await channel.dispatch(listener, new Message('before'));
    expect((await events.next()).value).toMatchObject({ event: 'before' });
    await stack.bridge.close();
    const during = channel.dispatch(listener, new Message('during')); // waits for the connection
    stack.bridge = await WebSocketBridge.start({ socketPath: stack.backend.path, port, token: 'page' });
    await during;
    expect((await events.next()).value).toMatchObject({ event: 'during' });
    expect(states).toEqual(['reconnecting', 'connected']);
    await events.return?.();
  });

  it('ends in the refused state when the page origin is not allowed (403)', async () => {
    stack = await startStack({ origins: ['https://app.example'] });
    client = new BridgeClient(stack.bridge.url);
    const error = await client.whenConnected().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BridgeRefused);
    expect((error as BridgeRefused).status).toBe(403);
    expect(client.state).toBe('refused');
  });
});
