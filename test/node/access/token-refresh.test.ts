// Signed tokens on long-lived connections (docs/security.md, "Refreshing a token"): a fresh token on an
// open WebSocket (`auth`) while streams run, the close at expiry (4401), a Server-Sent Events stream
// ended at expiry, and BridgeClient's token function, before expiry and after a 4401. Messages are
// counted: none lost, none twice, in order.
import { describe, expect } from 'vitest';
import { WebSocket } from 'ws';
import { SocketClient, signToken, type TokenGrants } from '../../../bridge/index.js';
import {
  type BridgeClient,
  BridgeRefused,
  type BridgeState,
  Message,
  type SSEChannel,
  type SSEEvent,
} from '../../../src/index.js';
import type { ReplyFrame } from '../../../src/wire/bridge-frames.js';
import { sleep } from '../helpers/async.js';
import { FrameClient, type Stack } from '../helpers/bridge.js';
import { it, type SignedStack } from '../helpers/fixtures.js';
import { openSse } from '../helpers/http.js';
import { hmacKeyFile } from '../helpers/tokens.js';

/** A bridge that takes tokens signed with `secret`, and a channel with a listener on its server. */
async function channelBehindBridge(signedStack: SignedStack) {
  const { stack, secret } = await signedStack();
  const channel = stack.backend.server.channels.add();
  return { stack, secret, channel, listener: channel.addListener() };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);
const numbers = (events: readonly { data: unknown }[]) => events.map((event) => event.data);

describe('a fresh token on an open WebSocket', () => {
  it('auth keeps a WebSocket past the first token’s exp, its stream running; narrower grants end it', async ({
    signedStack,
  }) => {
    const { stack, secret } = await signedStack();
    const client = new SocketClient(stack.backend.path);
    const A = await client.createChannel();
    const l = await client.register(A);
    const grants: TokenGrants = { channels: { [A]: ['l'] } };
    const first = await signToken(secret, { sub: 'alice', grants, ttlSeconds: 2 });
    const frames = await FrameClient.open(`ws://127.0.0.1:${stack.bridge.port}/?token=${first}`);
    frames.send({ id: 1, v: 'l', c: A, r: l });
    const got: ReplyFrame[] = [];
    let produced = 0;
    const produce = async (count: number) => {
      for (let k = 0; k < count; k++) await client.dispatch(A, l, 'n', ++produced);
    };
    const read = async (count: number) => {
      while (got.length < count) got.push(await frames.next(1));
    };

    await produce(20);
    await read(20);
    // A token of another subject, or one that does not verify, is refused; the old one stays in force.
    const other = await signToken(secret, { sub: 'bob', grants, ttlSeconds: 60 });
    expect(await frames.call(2, { v: 'auth', token: other })).toEqual({
      id: 2,
      error: "Forbidden('auth: a fresh token must be of the same subject')",
    });
    expect(await frames.call(3, { v: 'auth', token: `${other}x` })).toEqual({
      id: 3,
      error: "BridgeRefused('token signature does not verify')",
    });
    const fresh = await signToken(secret, { sub: 'alice', grants, ttlSeconds: 60 });
    expect(await frames.call(4, { v: 'auth', token: fresh })).toEqual({ id: 4, ok: 'auth' });
    // Past the first token's expiry (2 s), messages keep coming on the same stream.
    for (let round = 0; round < 6; round++) {
      await produce(10);
      await sleep(500);
    }
    await read(produced);
    expect(frames.ws.readyState).toBe(WebSocket.OPEN);

    // Grants without `l` on the channel: the stream ends with Forbidden, the WebSocket stays.
    const narrower = await signToken(secret, { sub: 'alice', grants: { channels: { [A]: ['d'] } }, ttlSeconds: 60 });
    expect(await frames.call(5, { v: 'auth', token: narrower })).toEqual({ id: 5, ok: 'auth' });
    expect(await frames.next(1)).toEqual({ id: 1, error: `Forbidden('l on channel ${A}')` });
    expect(await frames.call(6, { v: 'd', c: A, r: l, t: 'n', p: 0 })).toEqual({ id: 6, ok: 'ack' });
    expect(numbers(got.map((frame) => (frame as { data: SSEEvent }).data))).toEqual(range(1, produced));
    await frames.close();
    client.close();
  });

  it('without a fresh token, the bridge closes the WebSocket with 4401 at its expiry', async ({ signedStack }) => {
    const { stack, secret } = await signedStack();
    const token = await signToken(secret, { grants: { create: true }, ttlSeconds: 1 });
    const frames = await FrameClient.open(`ws://127.0.0.1:${stack.bridge.port}/?token=${token}`);
    expect(await frames.call(1, { v: 'c' })).toMatchObject({ ok: expect.any(String) });
    expect(await frames.closed).toEqual({ code: 4401, reason: 'token expired' });
  });

  it('a Server-Sent Events stream ends at its token’s expiry with an _eric_error, after every event', async ({
    signedStack,
  }) => {
    const { stack, secret } = await signedStack();
    const direct = stack.backend.server.channels;
    const channel = direct.add();
    const listener = channel.addListener();
    const token = await signToken(secret, { grants: { channels: { [channel.id]: ['l'] } }, ttlSeconds: 2 });
    const sse = await openSse(
      `http://127.0.0.1:${stack.bridge.port}/channels/${channel.id}/listeners/${listener.id}/events?token=${token}`,
    );
    expect(sse.status).toBe(200);
    for (let n = 1; n <= 50; n++) channel.dispatch(listener.id, new Message('n', n));
    await sse.ended;
    const events = sse.parser.events;
    expect(events.slice(0, 50).map((event) => JSON.parse(event.data))).toEqual(range(1, 50));
    expect(events.length).toBe(51);
    expect(events[50]!.type).toBe('_eric_error');
    expect(JSON.parse(events[50]!.data).error).toMatch(/^BridgeRefused\('token expired at \d{4}-/);
  });
});

describe('BridgeClient with a token function', () => {
  /**
   * A BridgeClient of `stack` on `token` streams a listener while `count` messages are dispatched to it,
   * one every 30 ms (a few seconds: past the tokens' lifetimes); resolves with the numbers it got and
   * the client's state changes.
   */
  async function streamThrough(
    stack: Stack,
    channel: SSEChannel,
    listenerId: string,
    client: (url: string) => BridgeClient,
    count: number,
  ) {
    const remote = client(`ws://127.0.0.1:${stack.bridge.port}/`);
    const states: BridgeState[] = [];
    remote.onStateChange((state) => states.push(state));
    const got: SSEEvent[] = [];
    const reading = (async () => {
      for await (const event of remote.stream(channel.id, listenerId)) {
        got.push(event);
        if (got.length === count) break;
      }
    })();
    for (let n = 1; n <= count; n++) {
      channel.dispatch(listenerId, new Message('n', n));
      await sleep(30);
    }
    await reading;
    return { got: numbers(got), states };
  }

  it('a fresh token at 3/4 of each one’s lifetime, on the open connection: one connection, all once', async ({
    signedStack,
    bridgeClient,
  }) => {
    const { stack, secret, channel, listener } = await channelBehindBridge(signedStack);
    let asked = 0;
    const token = () => {
      asked++;
      return signToken(secret, { sub: 'page', grants: { channels: { [channel.id]: ['l', 'w'] } }, ttlSeconds: 2 });
    };
    const run = await streamThrough(stack, channel, listener.id, (url) => bridgeClient(url, { WebSocket, token }), 150);
    expect(run.got).toEqual(range(1, 150));
    // About 4.5 s of 2-second tokens: fresh ones on the way, and never a new connection.
    expect(asked).toBeGreaterThanOrEqual(3);
    expect(run.states).toEqual(['connected']);
  });

  it('after a 4401 (no fresh token in time), fetches one, reconnects, resumes: every message once', async ({
    signedStack,
    bridgeClient,
  }) => {
    const { stack, secret, channel, listener } = await channelBehindBridge(signedStack);
    const grants: TokenGrants = { channels: { [channel.id]: ['l'] } };
    let asked = 0;
    const token = async () => {
      asked++;
      // The application's backend fails the refresh before expiry: the bridge closes the WebSocket (4401).
      if (asked === 2) throw new Error('backend busy');
      return signToken(secret, { sub: 'page', grants, ttlSeconds: asked === 1 ? 2 : 60 });
    };
    const options = { WebSocket, token, reconnect: { initialDelayMs: 20 } };
    const run = await streamThrough(stack, channel, listener.id, (url) => bridgeClient(url, options), 120);
    expect(run.got).toEqual(range(1, 120));
    expect(asked).toBe(3);
    expect(run.states).toEqual(['connected', 'reconnecting', 'connected']);
  });

  it('a fresh token the bridge refuses (401) is final: refused, its commands fail with BridgeRefused', async ({
    signedStack,
    bridgeClient,
  }) => {
    const { stack } = await channelBehindBridge(signedStack);
    let asked = 0;
    const token = () => {
      asked++;
      return signToken('not the bridge’s secret', { grants: { create: true } });
    };
    const remote = bridgeClient(`ws://127.0.0.1:${stack.bridge.port}/`, { WebSocket, token });
    await expect(remote.createChannel()).rejects.toThrow(BridgeRefused);
    expect([remote.state, asked]).toEqual(['refused', 1]);
  });

  it('during a key rotation across bridges: refused by the one on the old key, taken by the next', async ({
    startStack,
    dir,
    bridgeClient,
  }) => {
    const rotated = hmacKeyFile(dir, 'the new secret, rolled out to one bridge so far', 'new.key');
    const old = await startStack({ jwt: { keyFile: hmacKeyFile(dir, 'the old secret', 'old.key').file } });
    const renewed = await startStack({ jwt: { keyFile: rotated.file } });
    let asked = 0;
    const token = () => {
      asked++;
      return signToken(rotated.secret, { sub: 'ann', grants: { create: true } });
    };
    const urls = [old, renewed].map((stack) => `ws://127.0.0.1:${stack.bridge.port}/`);
    const remote = bridgeClient(urls, { WebSocket, token });
    const c = await remote.createChannel();
    expect(renewed.backend.server.channels.get(c).id).toBe(c);
    expect(remote.state).toBe('connected');
    expect(asked).toBe(1);
  });
});
