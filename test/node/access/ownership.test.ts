// Channels belong to the subject of the token they were created under, and the store keeps it: on
// Redis, for every server on it and across restarts (docs/security.md, "Owners").
import { describe, expect } from 'vitest';
import { WebSocket } from 'ws';
import { RedisStore, SocketClient, signToken } from '../../../bridge/index.js';
import { BridgeClient, Forbidden } from '../../../src/index.js';
import type { Stack } from '../helpers/bridge.js';
import { it } from '../helpers/fixtures.js';
import { httpRequest } from '../helpers/http.js';
import { hasRedisServer, redisForTests } from '../helpers/redis.js';
import { hmacKeyFile } from '../helpers/tokens.js';

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
});
