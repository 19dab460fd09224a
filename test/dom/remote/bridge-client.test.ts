// BridgeClient as a page uses it: the environment's own WebSocket and fetch (happy-dom's here),
// nothing injected, against a real bridge and SocketServer.
import { describe, expect } from 'vitest';
import { WebSocketBridge } from '../../../bridge/index.js';
import { BridgeRefused, type BridgeState, Message, RemoteChannel } from '../../../src/index.js';
import { take } from '../../node/helpers/async.js';
import { it } from '../../node/helpers/fixtures.js';

describe('BridgeClient with the page WebSocket (happy-dom)', () => {
  it('connects with the global WebSocket and drives a backend channel through RemoteChannel', async ({
    startStack,
    bridgeClient,
  }) => {
    expect(typeof globalThis.WebSocket).toBe('function');
    const stack = await startStack();
    const client = bridgeClient(stack.bridge.url);
    const channel = await RemoteChannel.create(client);
    const alice = await channel.addListener();
    const bob = await channel.addListener();
    await channel.dispatch(alice, new Message('hello', { to: 'alice' }));
    await channel.broadcast(new Message('news', [1, 2]));
    expect(await take(channel.messageStream(alice), 2)).toEqual([
      { event: 'hello', retry: 5, data: { to: 'alice' }, id: `${alice.id}:1` },
      { event: 'news', retry: 5, data: [1, 2], id: `${alice.id}:2` },
    ]);
    expect(await take(channel.messageStream(bob.id), 1)).toEqual([
      { event: 'news', retry: 5, data: [1, 2], id: `${bob.id}:1` },
    ]);
    expect(client.state).toBe('connected');
  });

  it('reconnects after the bridge restarts and resumes its stream without losing what was queued', async ({
    startStack,
    bridgeClient,
  }) => {
    const stack = await startStack({ token: 'page' });
    const port = stack.bridge.port;
    const client = bridgeClient(`ws://127.0.0.1:${port}/`, {
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

  it('ends in the refused state when the page origin is not allowed (403)', async ({ startStack, bridgeClient }) => {
    const stack = await startStack({ origins: ['https://app.example'] });
    const client = bridgeClient(stack.bridge.url);
    const error = await client.whenConnected().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BridgeRefused);
    expect((error as BridgeRefused).status).toBe(403);
    expect(client.state).toBe('refused');
  });
});
