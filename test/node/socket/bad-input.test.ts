// Our SocketServer's limits on what a client sends: size, time, clients that go away. The protocol's
// bad input (malformed JSON, missing keys, unknown verbs and ids) is in conformance.test.ts.
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { describe, expect } from 'vitest';
import { take } from '../helpers/async.js';
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

  it('a client dripping its command a byte at a time is cut off at the deadline, however often it writes', async ({
    client,
    server,
    registered,
  }) => {
    // A byte every 20 ms, each well within the 150 ms allowed, but the whole command takes seconds.
    const text = `${' '.repeat(100)}{"v": "c"}`;
    const { reply, sent } = await new Promise<{ reply: string; sent: number }>((resolve) => {
      const socket = connect(server.path);
      let sent = 0;
      let reply = '';
      const drip = setInterval(() => {
        if (sent < text.length) socket.write(text[sent++]!);
        else socket.end();
      }, 20);
      socket.on('data', (chunk) => (reply += chunk));
      socket.on('error', () => {});
      socket.once('close', () => {
        clearInterval(drip);
        resolve({ reply, sent });
      });
    });
    expect(reply).toBe("InvalidMessageFormat('No complete command within 150 ms')");
    expect(sent).toBeLessThan(text.length);
    expect(await client.dispatch(registered.c, registered.l, 'ok')).toBe('ack');
  });

  it('a command nesting deeper than 1,000 levels is refused at the door: nothing acked, nothing queued', async ({
    client,
    server,
    registered,
  }) => {
    const { c: channel, l: listener } = registered;
    const deep = `${'['.repeat(1500)}${']'.repeat(1500)}`;
    for (const v of ['d', 'b']) {
      const command = `{"v": "${v}", "c": "${channel}", "r": "${listener}", "t": "deep", "p": ${deep}}`;
      expect(await rawExchange(server.path, command)).toBe(
        "InvalidMessageFormat('Command nests deeper than 1000 levels of arrays and objects')",
      );
    }
    expect(server.channels.get(channel).queueLength(listener)).toBe(0);
    // 1,000 levels (the command object is the first) is still accepted, and streams whole.
    const deepest = `${'['.repeat(999)}${']'.repeat(999)}`;
    const command = `{"v": "d", "c": "${channel}", "r": "${listener}", "t": "deepest", "p": ${deepest}}`;
    expect(await rawExchange(server.path, command)).toBe('ack');
    const [line] = await take(client.stream(channel, listener), 1);
    expect(line).toContain(`"data":${deepest}`);
    expect(await client.dispatch(channel, listener, 'ok')).toBe('ack');
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

  it('a 1 MiB command nested 500,000 deep is refused after a short scan, never parsed', async ({ client, server }) => {
    const c = await client.createChannel();
    const deep = `{"v": "b", "c": "${c}", "t": "x", "p": ${'['.repeat(500_000)}${']'.repeat(500_000)}}`;
    expect(deep.length).toBeLessThan(1024 * 1024);
    const refusal = "InvalidMessageFormat('Command nests deeper than 1000 levels of arrays and objects')";
    expect(await rawExchange(server.path, deep)).toBe(refusal);
    // Broken JSON past the deep part: the refusal names the depth, so JSON.parse never saw it.
    expect(await rawExchange(server.path, `${deep.slice(0, 600_000)}!`)).toBe(refusal);
    expect(await client.createChannel()).toMatch(/^\d+$/);
  });

  it('a client that writes a 4 MiB command whole, then reads, gets the typed reply, never a broken pipe', async ({
    server,
  }) => {
    // Python's asyncio, as a user of eric-sse's client would write it: write all, end, read. The
    // server refuses at 1 MiB and must read and drop the rest, or the client's write breaks.
    const script = [
      'import asyncio, json, sys',
      'async def once(path):',
      '    reader, writer = await asyncio.open_unix_connection(path)',
      '    writer.write(json.dumps({"v": "b", "c": "1", "t": "x", "p": "x" * (4 * 1024 * 1024)}).encode())',
      '    await writer.drain()',
      '    writer.write_eof()',
      '    print((await reader.read()).decode(), flush=True)',
      '    writer.close()',
      'for _ in range(10):',
      '    try:',
      '        asyncio.run(once(sys.argv[1]))',
      '    except Exception as error:',
      '        print(type(error).__name__, flush=True)',
    ].join('\n');
    const { stdout } = await promisify(execFile)('python3', ['-c', script, server.path]);
    expect(stdout.trim().split('\n')).toEqual(
      Array(10).fill(`InvalidMessageFormat('Command exceeds the limit of ${1024 * 1024} bytes')`),
    );
  });
});
