// Clients that vanish without a word (no `rs`): the server notices them when it needs their room, and
// watches waiting in their grace period give way to live clients at the listener limit.
import { connect, type Socket } from 'node:net';
import { describe, expect } from 'vitest';
import type { SocketClient } from '../../../bridge/index.js';
import { LimitExceeded } from '../../../src/index.js';
import { until } from '../helpers/async.js';
import { it } from '../helpers/fixtures.js';

/** A raw `w` (no stream key, so no `rs` can end it): its socket and what the server replied so far. */
interface RawWatch {
  socket: Socket;
  reply: () => string;
  closed: Promise<void>;
}

function rawWatch(path: string, c: string): RawWatch {
  const socket = connect(path);
  let reply = '';
  socket.on('data', (chunk) => (reply += chunk));
  socket.on('error', () => {});
  socket.once('connect', () => socket.end(JSON.stringify({ v: 'w', c })));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, reply: () => reply, closed };
}

/** Opens `count` raw watches of a new channel, runs `body` with them, then closes whatever is left open. */
async function withWatches(
  client: SocketClient,
  path: string,
  count: number,
  body: (c: string, watches: RawWatch[]) => Promise<void>,
): Promise<void> {
  const c = await client.createChannel();
  const watches = Array.from({ length: count }, () => rawWatch(path, c));
  try {
    await body(c, watches);
  } finally {
    for (const watch of watches) watch.socket.destroy();
  }
}

describe('SocketServer: watches whose clients vanished', () => {
  it.override('serverOptions', { maxListeners: 50, watchGraceMs: 60_000 });

  it('at the listener limit, watches whose clients closed without rs give way: every r after succeeds', ({
    client,
    server,
  }) =>
    withWatches(client, server.path, 60, async (c, watches) => {
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
    }));

  it('live watches are never evicted: past the limit, r is refused while every watch is streaming', ({
    client,
    server,
  }) =>
    withWatches(client, server.path, 50, async (c, watches) => {
      await until(() => server.streams === 50, 'the watches to open');
      await expect(client.register(c)).rejects.toThrow(LimitExceeded);
      expect(server.streams).toBe(50);
      // One goes: its room is free for the next r.
      watches[0]!.socket.destroy();
      expect(await client.register(c)).toMatch(/^\d+$/);
      expect(server.streams).toBe(49);
      await expect(client.register(c)).rejects.toThrow(LimitExceeded);
    }));
});
