// SocketClient against our server where the connection ends badly: the reply that arrived is what counts.
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { SocketClient } from '../../../bridge/index.js';
import { InvalidMessageFormat } from '../../../src/index.js';
import { it } from '../helpers/fixtures.js';

describe('SocketClient: a reply followed by a reset', () => {
  it('a 2 MB command gets the typed size error every time, never ECONNRESET (serve hangs up with half unread)', async ({
    dir,
    startCli,
  }) => {
    // A server in a process of its own, as in use: in this process the reply and the reset would take turns.
    const path = join(dir, 'bus.sock');
    await startCli(['serve', '--socket', path], 'serving on');
    const client = new SocketClient(path);
    const command = { v: 'b', c: '1', t: 'big', p: 'x'.repeat(2 * 1024 * 1024) };
    // 20 at once: each is a race between the reply and the reset, which a busy client loses more often.
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () =>
        client.sendRaw(command).catch((error: NodeJS.ErrnoException) => error.code ?? String(error)),
      ),
    );
    const typed = "InvalidMessageFormat('Command exceeds the limit of 1048576 bytes')";
    expect(outcomes.filter((o) => o !== typed)).toEqual([]);
    await expect(client.sendPayload(command as never)).rejects.toThrow(InvalidMessageFormat);
  });

  it('an error before any reply byte still rejects', async ({ dir }) => {
    // A server that hangs up on the first bytes of a command, unread, and says nothing.
    const path = join(dir, 'rude.sock');
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.once('data', () => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const failed = await new SocketClient(path)
        .sendRaw({ v: 'c', p: 'x'.repeat(2 * 1024 * 1024) })
        .catch((error: NodeJS.ErrnoException) => error);
      expect(failed).toBeInstanceOf(Error);
      expect(['EPIPE', 'ECONNRESET']).toContain((failed as NodeJS.ErrnoException).code);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
