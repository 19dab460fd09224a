// Our SocketServer's limits on what a client sends: size, time, clients that go away. The protocol's
// bad input (malformed JSON, missing keys, unknown verbs and ids) is in conformance.test.ts.
import { connect } from 'node:net';
import { describe, expect } from 'vitest';
import { it } from '../helpers/fixtures.js';
import { rawExchange } from '../helpers/socket.js';

describe('SocketServer: bad input never kills the server', () => {
  it.override('serverOptions', { maxBytes: 4096, idleTimeoutMs: 150 });

  it('a command over the size limit gets an error reply; the next client is served', async ({
    client,
    server,
    registered,
  }) => {
    const { c: channel, l: listener } = registered;
    const big = JSON.stringify({ v: 'b', c: channel, t: 'big', p: 'x'.repeat(5000) });
    expect(await rawExchange(server.path, big)).toBe("InvalidMessageFormat('Command exceeds the limit of 4096 bytes')");
    expect(await client.dispatch(channel, listener, 'ok')).toBe('ack');
  });

  it('a client that connects and never writes is answered when the idle timeout passes', async ({
    client,
    server,
    registered,
  }) => {
    expect(await rawExchange(server.path, null, { halfClose: false })).toBe(
      "InvalidMessageFormat('No complete command within 150 ms')",
    );
    expect(await client.dispatch(registered.c, registered.l, 'ok')).toBe('ack');
  });

  it('a client that writes part of a command and never finishes is timed out too', async ({
    client,
    server,
    registered,
  }) => {
    expect(await rawExchange(server.path, '{"v": "c', { halfClose: false })).toBe(
      "InvalidMessageFormat('No complete command within 150 ms')",
    );
    expect(await client.dispatch(registered.c, registered.l, 'ok')).toBe('ack');
  });

  it('a client that disconnects mid-command is dropped quietly', async ({ client, server, registered }) => {
    const { c: channel, l: listener } = registered;
    await new Promise<void>((resolve) => {
      const socket = connect(server.path);
      socket.on('error', () => {});
      socket.once('connect', () => {
        socket.write('{"v": "b", "c": "');
        socket.destroy();
        resolve();
      });
    });
    expect(await client.dispatch(channel, listener, 'ok')).toBe('ack');
    expect(server.channels.get(channel).queueLength(listener)).toBe(1);
  });

  it('many bad clients at once, interleaved with good ones', async ({ client, server, registered }) => {
    const { c: channel, l: listener } = registered;
    const bad = Array.from({ length: 50 }, (_, i) => rawExchange(server.path, i % 2 ? '[' : '{"v": "nope"}'));
    const good = Array.from({ length: 50 }, (_, i) => client.dispatch(channel, listener, 'n', i));
    const [badReplies, goodReplies] = await Promise.all([Promise.all(bad), Promise.all(good)]);
    expect(badReplies.every((r) => r.startsWith('InvalidMessageFormat('))).toBe(true);
    expect(goodReplies.every((r) => r === 'ack')).toBe(true);
    expect(server.channels.get(channel).queueLength(listener)).toBe(50);
  });
});

describe('SocketServer: the default size limit is 1 MiB', () => {
  it('refuses a command just over 1 MiB and serves the next client', async ({ client, server }) => {
    const c = await client.createChannel();
    const under = JSON.stringify({ v: 'b', c, t: 'big', p: 'x'.repeat(1024 * 1024 - 100) });
    expect(await rawExchange(server.path, under)).toBe('ack');
    const over = JSON.stringify({ v: 'b', c, t: 'big', p: 'x'.repeat(1024 * 1024) });
    expect(await rawExchange(server.path, over)).toBe(
      `InvalidMessageFormat('Command exceeds the limit of ${1024 * 1024} bytes')`,
    );
    expect(await client.createChannel()).toMatch(/^\d+$/);
  });
});
