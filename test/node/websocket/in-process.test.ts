// `startUp` runs its bridge beside its server: the bridge's sessions to that server are in-process
// connections (bridge/socket/in-process.ts), served as Unix connections are, without the kernel.
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startUp } from '../../../bridge/index.js';
import { BridgeClient, InvalidChannelException } from '../../../src/index.js';

describe('startUp: the bridge reaches its own server in process', () => {
  it('commands go through with the socket file gone; each answered once, in order, errors typed', async () => {
    const up = await startUp({ port: 0 });
    const client = new BridgeClient(up.url, { WebSocket });
    try {
      // Without its socket file, only an in-process connection can reach the server.
      rmSync(up.socketPath);
      const c = await client.createChannel();
      const l = await client.register(c);
      const acks = await Promise.all(Array.from({ length: 1000 }, (_, n) => client.dispatch(c, l, 'n', n)));
      expect(acks.filter((ack) => ack === 'ack')).toHaveLength(1000);
      const channel = up.server.channels.get(c);
      expect(channel.queueLength(l)).toBe(1000);
      channel.getListener(l).startSync();
      const taken = Array.from({ length: 1000 }, () => channel.deliverNext(l).payload);
      expect(taken).toEqual(Array.from({ length: 1000 }, (_, n) => n));
      await expect(client.register('404')).rejects.toBeInstanceOf(InvalidChannelException);
    } finally {
      client.close();
      await up.close();
    }
  });
});
