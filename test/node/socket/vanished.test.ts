// Clients that vanish without a word (no `rs`): the server notices them when it needs their room, and
// watches waiting in their grace period give way to live clients at the listener limit.
import { connect, type Socket } from 'node:net';
import { describe, expect } from 'vitest';
import { LimitExceeded } from '../../../src/index.js';
import { until } from '../helpers/async.js';
import { it } from '../helpers/fixtures.js';

/** A raw `w` (no stream key, so no `rs` can end it): its socket and what the server replied so far. */
function rawWatch(path: string, c: string): { socket: Socket; reply: () => string; closed: Promise<void> } {
  const socket = connect(path);
  let reply = '';
  socket.on('data', (chunk) => (reply += chunk));
  socket.on('error', () => {});
  socket.once('connect', () => socket.end(JSON.stringify({ v: 'w', c })));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, reply: () => reply, closed };
}

describe('SocketServer: watches whose clients vanished', () => {
  it.override('serverOptions', { maxListeners: 50, watchGraceMs: 60_000 });

  it('at the listener limit, watches whose clients closed without rs give way: every r after succeeds', async ({
    client,
    server,
  }) => {
    const c = await client.createChannel();
    const watches = Array.from({ length: 60 }, () => rawWatch(server.path, c));
    try {
      // 50 watches open; the 10 past the limit are refused while the 50 are live.
      await until(
        () => server.streams === 50 && watches.filter((w) => w.reply().startsWith('LimitExceeded(')).length === 10,
        'the watches to open or be refused',
      );
      expect(server.channels.listenerCount).toBe(50);
      // Every client goes without an rs, and nothing is broadcast to show the server they have gone.
      for (const watch of watches) watch.socket.destroy();
      await Promise.all(watches.map((w) => w.closed));

      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () =>
          client.register(c).then(
            () => 'ok',
            (error: unknown) => (error instanceof LimitExceeded ? 'LimitExceeded' : String(error)),
          ),
        ),
      );
      expect(outcomes.filter((o) => o === 'ok').length).toBe(20);
      // Only watches in their grace period gave way: the budget still holds.
      expect(server.channels.listenerCount).toBe(50);
    } finally {
      for (const watch of watches) watch.socket.destroy();
    }
  });

  it('live watches are never evicted: past the limit, r is refused while every watch is streaming', async ({
    client,
    server,
  }) => {
    const c = await client.createChannel();
    const watches = Array.from({ length: 50 }, () => rawWatch(server.path, c));
    try {
      await until(() => server.streams === 50, 'the watches to open');
      await expect(client.register(c)).rejects.toThrow(LimitExceeded);
      expect(server.streams).toBe(50);
      // One goes: its room is free for the next r.
      watches[0]!.socket.destroy();
      expect(await client.register(c)).toMatch(/^\d+$/);
      expect(server.streams).toBe(49);
      await expect(client.register(c)).rejects.toThrow(LimitExceeded);
    } finally {
      for (const watch of watches) watch.socket.destroy();
    }
  });
});
