// A server short of file descriptors: idle connections that never send a command must not starve working clients.
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { SocketClient, SocketServer } from '../../../bridge/index.js';
import { it } from '../helpers/fixtures.js';

/** Opens a connection that sends nothing; resolves once it is connected (or refused). */
function idle(path: string, sockets: Socket[]): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(path);
    sockets.push(socket);
    socket.on('error', () => resolve());
    socket.once('connect', () => resolve());
    socket.once('close', () => resolve());
  });
}

describe('SocketServer: idle connections at a low descriptor limit', () => {
  it('600 idle connections to a server under ulimit -n 256: another client is served 20 of 20 times', async ({
    dir,
    startCli,
  }) => {
    const path = join(dir, 'bus.sock');
    await startCli(['serve', '--socket', path], 'serving on', { fdLimit: 256 });
    const sockets: Socket[] = [];
    try {
      // In batches, as a flood arrives: each batch is accepted before the next.
      for (let batch = 0; batch < 6; batch++) await Promise.all(Array.from({ length: 100 }, () => idle(path, sockets)));
      const client = new SocketClient(path);
      const outcomes: string[] = [];
      for (let i = 0; i < 20; i++)
        outcomes.push(
          await client.createChannel().then(
            () => 'ok',
            (error: NodeJS.ErrnoException) => error.code ?? String(error),
          ),
        );
      expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });

  it('refuses a cap on waiting connections that is not a count of at least one', () => {
    for (const maxPendingConnections of [0, -1, 1.5])
      expect(() => new SocketServer('/unused.sock', { maxPendingConnections })).toThrow(RangeError);
  });
});
