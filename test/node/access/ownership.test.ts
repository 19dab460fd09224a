// Channels belong to the subject of the token they were created under, and the store keeps it: on
// Redis, for every server on it and across restarts (docs/security.md, "Owners").

import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { WebSocket } from 'ws';
import { RedisStore, SocketClient, signToken, WebSocketBridge } from '../../../bridge/index.js';
import { BridgeClient, Forbidden } from '../../../src/index.js';
import type { ReplyFrame } from '../../../src/wire/bridge-frames.js';
import { FrameClient, type Stack } from '../helpers/bridge.js';
import { it } from '../helpers/fixtures.js';
import { httpRequest } from '../helpers/http.js';
import { hasRedisServer, redisForTests } from '../helpers/redis.js';
import { hmacKeyFile } from '../helpers/tokens.js';

/** The `ok` of a reply frame, which must be one. */
async function ok(reply: Promise<ReplyFrame>): Promise<string> {
  const frame = await reply;
  if (!('ok' in frame)) throw new Error(`expected ok, got ${JSON.stringify(frame)}`);
  return String(frame.ok);
}

const base = (stack: Stack) => `http://127.0.0.1:${stack.bridge.port}`;

describe.skipIf(!hasRedisServer)('channel owners on Redis', () => {
  const redis = redisForTests();

  it('alice’s channel is hers through another server on one Redis, and after restarts; bob gets Forbidden', async ({
    startStack,
    bridgeClient,
    dir,
  }) => {
    const { file, secret } = hmacKeyFile(dir);
    const prefix = `owners-${Date.now()}:`;
    const onRedis = async () => ({ store: await RedisStore.connect(redis().url, { prefix }) });
    const one = await startStack({ jwt: { keyFile: file } }, await onRedis());
    const two = await startStack({ jwt: { keyFile: file } }, await onRedis());
    const alice = await signToken(secret, { sub: 'alice', grants: { create: true } });
    const bob = await signToken(secret, { sub: 'bob', grants: { create: true } });

    // Created by alice on the WebSocket of server one; no grant names it.
    const page = bridgeClient(`ws://127.0.0.1:${one.bridge.port}/`, { WebSocket, token: alice });
    const c = await page.createChannel();
    const l = await page.register(c);
    // The store says whose it is, to any server.
    expect(await new SocketClient(two.backend.path).sendPayload({ v: 'own', c } as never)).toBe('"alice"');

    // Through server two: alice dispatches over REST; bob may not.
    const dispatch = (stack: Stack, token: string) =>
      httpRequest('POST', `${base(stack)}/channels/${c}/listeners/${l}/messages`, {
        headers: { Authorization: `Bearer ${token}` },
        body: { type: 'hi', payload: 1 },
      });
    expect((await dispatch(two, alice)).status).toBe(202);
    const refused = await dispatch(two, bob);
    expect([refused.status, refused.json]).toEqual([403, { error: `Forbidden('d on channel ${c}')` }]);
    const other = bridgeClient(`ws://127.0.0.1:${two.bridge.port}/`, { WebSocket, token: bob });
    await expect(other.register(c)).rejects.toThrow(Forbidden);
    await expect(other.removeChannel(c)).rejects.toThrow(new Forbidden(`rc on channel ${c}`));

    // Both servers stop; a new one on the same Redis still knows alice's channel, and the message.
    page.close();
    other.close();
    await one.close();
    await two.close();
    const three = await startStack({ jwt: { keyFile: file } }, await onRedis());
    const again = new BridgeClient(`ws://127.0.0.1:${three.bridge.port}/`, { WebSocket, token: alice });
    try {
      const events = again.stream(c, l)[Symbol.asyncIterator]();
      expect((await events.next()).value).toMatchObject({ event: 'hi', data: 1 });
      await events.return?.();
      expect((await dispatch(three, bob)).status).toBe(403);
      // Her channel goes when she removes it, and its owner with it.
      expect(await again.removeChannel(c)).toBe('ack');
      await expect(again.register(c)).rejects.toThrow(new Forbidden(`r on channel ${c}`));
    } finally {
      again.close();
    }
  });
});

describe('channel owners in memory', () => {
  it('no owner with the shared token or a token without sub; over REST, the sub’s', async ({ signedStack }) => {
    const { stack, secret } = await signedStack({ bridge: { token: 'shared' } });
    const client = new SocketClient(stack.backend.path);
    const create = async (token: string) =>
      (
        (await httpRequest('POST', `${base(stack)}/channels`, { headers: { Authorization: `Bearer ${token}` } }))
          .json as { id: string }
      ).id;
    const owner = (c: string) => client.sendPayload({ v: 'own', c } as never);
    expect(await owner(await create('shared'))).toBe('null');
    expect(await owner(await create(await signToken(secret, { grants: { create: true } })))).toBe('null');
    expect(await owner(await create(await signToken(secret, { sub: 'carol', grants: { create: true } })))).toBe(
      '"carol"',
    );
    client.close();
  });

  it('a restarted server that gives a channel id again: the bridge forgets whose it was, bob’s stays his', async ({
    startCli,
    dir,
  }) => {
    // eric-bus serve in memory, restarted: its channel ids start at 1 again. The bridge, a process of
    // its own in front, stays up, and so do its WebSockets.
    const socket = join(dir, 'bus.sock');
    const { file, secret } = hmacKeyFile(dir);
    const serve = () => startCli(['serve', '--socket', socket], /serving on/);
    const first = await serve();
    const bridge = await WebSocketBridge.start({ socketPath: socket, port: 0, jwt: { keyFile: file } });
    try {
      const tokenOf = (sub: string) => signToken(secret, { sub, grants: { create: true } });
      const url = (token: string) => `ws://127.0.0.1:${bridge.port}/?token=${token}`;
      const alice = await FrameClient.open(url(await tokenOf('alice')));
      const c = await ok(alice.call(1, { v: 'c' }));
      const l = await ok(alice.call(2, { v: 'r', c }));
      expect(await alice.call(3, { v: 'd', c, r: l, t: 'hi', p: 1 })).toEqual({ id: 3, ok: 'ack' });
      await first.close();
      await serve();
      // Bob's channels, after the restart: one of them has the id alice's had.
      const bob = await FrameClient.open(url(await tokenOf('bob')));
      const his: string[] = [];
      for (let k = 0; k < 5 && !his.includes(c); k++) his.push(await ok(bob.call(10 + k, { v: 'c' })));
      expect(his).toContain(c);
      const bobs = await ok(bob.call(20, { v: 'r', c }));
      // Alice's WebSocket had learned that channel id was hers: no longer.
      expect(await alice.call(4, { v: 'd', c, r: bobs, t: 'hi', p: 2 })).toEqual({
        id: 4,
        error: `Forbidden('d on channel ${c}')`,
      });
      expect(await alice.call(5, { v: 'rc', c })).toEqual({ id: 5, error: `Forbidden('rc on channel ${c}')` });
      expect(await bob.call(21, { v: 'd', c, r: bobs, t: 'hi', p: 3 })).toEqual({ id: 21, ok: 'ack' });
      alice.close();
      bob.close();
    } finally {
      await bridge.close();
    }
  });

  it('the bridge asks who owns a channel once, for all its WebSockets and requests; one removed is forgotten', async ({
    signedStack,
  }) => {
    const { stack, secret, logged } = await signedStack({ bridge: { token: 'shared' } });
    const asked = () => logged.filter((line) => /command own\b/.test(line)).length;
    const tokenOf = (sub: string) => signToken(secret, { sub, grants: { create: true } });
    const [alice, bob] = [await tokenOf('alice'), await tokenOf('bob')];
    const ws = (token: string) => FrameClient.open(`ws://127.0.0.1:${stack.bridge.port}/?token=${token}`);
    const post = (token: string, path: string, body?: unknown) =>
      httpRequest('POST', `${base(stack)}${path}`, { headers: { Authorization: `Bearer ${token}` }, body });
    // Made on a WebSocket: the bridge learns the owner from the reply; no connection asks after.
    const first = await ws(alice);
    const c = await ok(first.call(1, { v: 'c' }));
    const l = await ok(first.call(2, { v: 'r', c }));
    const second = await ws(alice);
    expect(await second.call(1, { v: 'd', c, r: l, t: 'hi', p: 1 })).toEqual({ id: 1, ok: 'ack' });
    for (let n = 0; n < 3; n++)
      expect((await post(alice, `/channels/${c}/listeners/${l}/messages`, { type: 'hi', payload: n })).status).toBe(
        202,
      );
    expect((await post(bob, `/channels/${c}/messages`, { type: 'hi' })).status).toBe(403);
    expect(asked()).toBe(0);
    // Made by the shared token over REST: known to have no owner, from the reply too.
    const open = ((await post('shared', '/channels')).json as { id: string }).id;
    const refusedOn = async (channel: string) =>
      (await post(alice, `/channels/${channel}/messages`, { type: 'x' })).status === 403;
    for (let n = 0; n < 3; n++) expect(await refusedOn(open)).toBe(true);
    expect(asked()).toBe(0);
    // Made on the server directly: asked once, then known to every request.
    const direct = stack.backend.server.channels.add().id;
    for (let n = 0; n < 3; n++) expect(await refusedOn(direct)).toBe(true);
    expect(asked()).toBe(1);
    // Removed: forgotten, so a later question goes to the server, which knows no such channel.
    expect(await first.call(3, { v: 'rc', c })).toEqual({ id: 3, ok: 'ack' });
    expect(await second.call(2, { v: 'd', c, r: l, t: 'hi', p: 2 })).toEqual({
      id: 2,
      error: `Forbidden('d on channel ${c}')`,
    });
    expect(asked()).toBe(2);
    first.close();
    second.close();
  });

  it('an owner has every verb on its channel, its token’s listeners aside; c without create is refused', async ({
    signedStack,
  }) => {
    const { stack, secret } = await signedStack();
    const url = (token: string) => `ws://127.0.0.1:${stack.bridge.port}/?token=${token}`;
    const creator = await FrameClient.open(url(await signToken(secret, { sub: 'ann', grants: { create: true } })));
    const c = await ok(creator.call(1, { v: 'c' }));
    const [l1, l2] = [await ok(creator.call(2, { v: 'r', c })), await ok(creator.call(3, { v: 'r', c }))];
    creator.close();
    // Her later token grants her nothing on c but l on l1 only, and may not create.
    const narrow = await signToken(secret, {
      sub: 'ann',
      grants: { channels: { [c]: ['l'] }, listeners: { [c]: [l1] } },
    });
    const ann = await FrameClient.open(url(narrow));
    expect(await ann.call(1, { v: 'd', c, r: l2, t: 'hi', p: 1 })).toEqual({ id: 1, ok: 'ack' });
    expect(await ann.call(2, { v: 'rl', c, r: l2 })).toEqual({ id: 2, ok: 'ack' });
    expect(await ann.call(3, { v: 'c' })).toEqual({
      id: 3,
      error: "Forbidden('c: this token may not create channels')",
    });
    // Another subject with the same grants: only l on l1.
    const bob = await FrameClient.open(
      url(await signToken(secret, { sub: 'bob', grants: { channels: { [c]: ['l'] }, listeners: { [c]: [l1] } } })),
    );
    expect(await bob.call(1, { v: 'd', c, r: l1, t: 'hi', p: 1 })).toEqual({
      id: 1,
      error: `Forbidden('d on channel ${c}')`,
    });
    // l is granted on c, but not on that listener: the reply says so.
    expect(await bob.call(2, { v: 'l', c, r: l2 })).toEqual({
      id: 2,
      error: `Forbidden('l on listener ${l2} of channel ${c}')`,
    });
    ann.close();
    bob.close();
  });
});
