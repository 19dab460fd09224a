// The holder's part of tab sharing without tabs: clients attached to one SocketHub (as the tabs'
// sockets are) against a real bridge, on happy-dom's WebSocket. Web Locks and BroadcastChannel
// between tabs need a browser: test/browser/tabs.test.ts.
import { describe, expect } from 'vitest';
import { WebSocketBridge } from '../../../bridge/index.js';
import { SocketClient } from '../../../bridge/socket/client.js';
import type { WebSocketConstructor, WebSocketLike } from '../../../src/index.js';
import { BridgeClient, type BridgeState } from '../../../src/index.js';
import { type HubPort, SocketHub } from '../../../src/tabs/socket-hub.js';
import { until } from '../../node/helpers/async.js';
import { it } from '../../node/helpers/fixtures.js';

/** WebSockets of one client that go through `hub` under `client`'s key, as a holder's own tab's do. */
function throughHub(hub: SocketHub, client: string): WebSocketConstructor {
  let next = 1;
  return class HubSocket implements WebSocketLike {
    readyState = 0;
    onopen: ((event: never) => void) | null = null;
    onmessage: ((event: never) => void) | null = null;
    onclose: ((event: never) => void) | null = null;
    onerror: ((event: never) => void) | null = null;
    readonly #key = `${client}/${next++}`;

    constructor() {
      const port: HubPort = {
        open: () => {
          this.readyState = 1;
          (this.onopen as ((e: object) => void) | null)?.({});
        },
        frame: (data) => (this.onmessage as ((e: { data: string }) => void) | null)?.({ data }),
        close: (code, reason) => {
          this.readyState = 3;
          (this.onclose as ((e: { code: number; reason: string }) => void) | null)?.({ code, reason });
        },
      };
      queueMicrotask(() => hub.attach(this.#key, port));
    }

    send(text: string): void {
      hub.send(this.#key, text);
    }

    close(): void {
      this.readyState = 3;
      hub.detach(this.#key);
    }
  };
}

describe('SocketHub: one WebSocket for several clients', () => {
  it('routes replies and events to their client, cancels a leaving client’s streams, resumes all after a drop', async ({
    startStack,
  }) => {
    const stack = await startStack({ token: 'hub' });
    const port = stack.bridge.port;
    const direct = new SocketClient(stack.backend.path);
    const c = await direct.createChannel();
    const hub = new SocketHub(stack.bridge.url, WebSocket as unknown as WebSocketConstructor);
    const reconnect = { initialDelayMs: 10, maxDelayMs: 50 };
    const a = new BridgeClient(stack.bridge.url, { WebSocket: throughHub(hub, 'a'), reconnect });
    const b = new BridgeClient(stack.bridge.url, { WebSocket: throughHub(hub, 'b'), reconnect });
    const states: BridgeState[] = [];
    b.onStateChange((state) => states.push(state));
    // Both clients number their frames from 1: the hub keeps them apart.
    const [la, lb] = [await a.register(c), await b.register(c)];
    expect(la).not.toBe(lb);
    const got: Record<string, number[]> = { a: [], b: [] };
    const pump = async (client: BridgeClient, l: string, into: number[]) => {
      for await (const event of client.stream(c, l)) into.push(event.data as number);
    };
    void pump(a, la, got.a!);
    void pump(b, lb, got.b!);
    await until(() => stack.backend.server.streams === 2, 'both streams open');
    for (let n = 1; n <= 50; n++) await Promise.all([direct.dispatch(c, la, 'n', n), direct.dispatch(c, lb, 'n', n)]);
    await until(() => got.a!.length === 50 && got.b!.length === 50, 'fifty events each');
    expect(stack.bridge.connections).toBe(1);

    // The bridge goes away and comes back: both clients reconnect through the hub, one WebSocket again.
    await stack.bridge.close();
    for (let n = 51; n <= 80; n++) await Promise.all([direct.dispatch(c, la, 'n', n), direct.dispatch(c, lb, 'n', n)]);
    stack.bridge = await WebSocketBridge.start({ socketPath: stack.backend.path, port, token: 'hub' });
    await until(() => got.a!.length === 80 && got.b!.length === 80, 'every event after the restart');
    expect(got.a).toEqual(Array.from({ length: 80 }, (_, k) => k + 1));
    expect(got.b).toEqual(got.a);
    expect(stack.bridge.connections).toBe(1);
    expect(states).toEqual(['connected', 'reconnecting', 'connected']);

    // A client that leaves has its stream cancelled; the other's goes on.
    a.close();
    await until(() => stack.backend.server.streams === 1, "the leaving client's stream cancelled");
    await direct.dispatch(c, lb, 'n', 81);
    await until(() => got.b!.length === 81, 'the other client goes on');
    expect(hub.size).toBe(1);
    b.close();
    expect(hub.size).toBe(0);
    await until(() => stack.bridge.connections === 0, 'the WebSocket closed with its last client');
    await direct.close();
  });

  it('without Web Locks (Node, happy-dom) shareAcrossTabs connects on its own', async ({
    startStack,
    bridgeClient,
  }) => {
    expect((globalThis as { navigator?: { locks?: unknown } }).navigator?.locks ?? undefined).toBeUndefined();
    const stack = await startStack();
    const client = bridgeClient(stack.bridge.url, { shareAcrossTabs: 'app' });
    expect(await client.createChannel()).toMatch(/^\d+$/);
    expect(stack.bridge.connections).toBe(1);
  });
});
