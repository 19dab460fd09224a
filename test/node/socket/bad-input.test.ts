import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SocketClient } from '../../../bridge/index.js';
import { rawExchange, startServer, take } from '../helpers/socket.js';

describe('SocketServer: bad input never kills the server', () => {
  let ctx: Awaited<ReturnType<typeof startServer>>;
  let client: SocketClient;
  let channel: string;
  let listener: string;
  beforeEach(async () => {
    ctx = await startServer({ maxBytes: 4096, idleTimeoutMs: 150 });
    client = new SocketClient(ctx.path);
    channel = await client.createChannel();
    listener = await client.register(channel);
  });
  afterEach(() => ctx.close());

  /** After each bad client, a good one is served normally. */
  async function stillServes(): Promise<void> {
    expect(await client.dispatch(channel, listener, 'ok', { fine: true })).toBe('ack');
  }

  const cases: [string, () => string | Buffer, RegExp][] = [
    ['malformed JSON', () => '{"v": "c"', /^InvalidMessageFormat\("Malformed JSON: Expected ',' or '}' .+"\)$/],
    ['a JSON array', () => '["v", "c"]', /^InvalidMessageFormat\('A command is a JSON object, not an array'\)$/],
    ['a JSON number', () => '42', /^InvalidMessageFormat\('A command is a JSON object, not a number'\)$/],
    ['JSON null', () => 'null', /^InvalidMessageFormat\('A command is a JSON object, not null'\)$/],
    ['a missing verb', () => '{"c": "1"}', /^InvalidMessageFormat\("Missing verb 'v'"\)$/],
    [
      'an unknown verb',
      () => '{"v": "zz", "c": "1"}',
      /^InvalidMessageFormat\('Unknown verb "zz" \(expected one of c, r, d, b, l, w, rl, rc\)'\)$/,
    ],
    ['a verb that is not a string', () => '{"v": 5}', /^InvalidMessageFormat\('Unknown verb 5 /],
    [
      'a dispatch without type',
      () => JSON.stringify({ v: 'd', c: channel, r: listener, p: 1 }),
      /^InvalidMessageFormat\("Missing message type 't' for verb 'd'"\)$/,
    ],
    [
      'a broadcast without type',
      () => JSON.stringify({ v: 'b', c: channel }),
      /^InvalidMessageFormat\("Missing message type 't' for verb 'b'"\)$/,
    ],
    [
      'a type that is not a string',
      () => JSON.stringify({ v: 'b', c: channel, t: 5 }),
      /^InvalidMessageFormat\("Message type 't' must be a string, not 5"\)$/,
    ],
    [
      'a dispatch without receiver',
      () => JSON.stringify({ v: 'd', c: channel, t: 'x' }),
      /^InvalidMessageFormat\("Missing receiver id 'r' \(a string\) for verb 'd'"\)$/,
    ],
    [
      'a listen without channel',
      () => JSON.stringify({ v: 'l', r: listener }),
      /^InvalidMessageFormat\("Missing channel id 'c' \(a string\) for verb 'l'"\)$/,
    ],
    ['an empty command', () => '', /^InvalidMessageFormat\('Empty command'\)$/],
    [
      'bytes that are not UTF-8',
      () => Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
      /^InvalidMessageFormat\('Command is not valid UTF-8'\)$/,
    ],
    [
      'a command over the size limit',
      () => JSON.stringify({ v: 'b', c: channel, t: 'big', p: 'x'.repeat(5000) }),
      /^InvalidMessageFormat\('Command exceeds the limit of 4096 bytes'\)$/,
    ],
    [
      'an unknown channel',
      () => JSON.stringify({ v: 'b', c: '999999', t: 'x' }),
      /^InvalidChannelException\('No channel with id 999999'\)$/,
    ],
    [
      'an unknown listener',
      () => JSON.stringify({ v: 'd', c: channel, r: '999999', t: 'x' }),
      /^InvalidListenerException\('Invalid listener 999999'\)$/,
    ],
  ];

  it.each(cases)('%s gets a typed error reply', async (_, bytes, reply) => {
    expect(await rawExchange(ctx.path, bytes())).toMatch(reply);
    await stillServes();
  });

  it('a client that connects and never writes is answered when the idle timeout passes', async () => {
    expect(await rawExchange(ctx.path, null, { halfClose: false })).toBe(
      "InvalidMessageFormat('No complete command within 150 ms')",
    );
    await stillServes();
  });

  it('a client that writes part of a command and never finishes is timed out too', async () => {
    expect(await rawExchange(ctx.path, '{"v": "c', { halfClose: false })).toBe(
      "InvalidMessageFormat('No complete command within 150 ms')",
    );
    await stillServes();
  });

  it('a client dripping its command a byte at a time is cut off at the deadline, however often it writes', async () => {
    // A byte every 20 ms, each well within the 150 ms allowed, but the whole command takes seconds.
    const text = `${' '.repeat(100)}{"v": "c"}`;
    const { reply, sent } = await new Promise<{ reply: string; sent: number }>((resolve) => {
      const socket = connect(ctx.path);
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
    await stillServes();
  });

  it('a command nesting deeper than 1,000 levels is refused at the door: nothing acked, nothing queued', async () => {
    const deep = `${'['.repeat(1500)}${']'.repeat(1500)}`;
    for (const v of ['d', 'b']) {
      const command = `{"v": "${v}", "c": "${channel}", "r": "${listener}", "t": "deep", "p": ${deep}}`;
      expect(await rawExchange(ctx.path, command)).toBe(
        "InvalidMessageFormat('Command nests deeper than 1000 levels of arrays and objects')",
      );
    }
    expect(ctx.server.channels.get(channel).queueLength(listener)).toBe(0);
    // 1,000 levels (the command object is the first) is still accepted, and streams whole.
    const deepest = JSON.stringify({ v: 'd', c: channel, r: listener, t: 'deepest', p: null }).replace(
      'null',
      `${'['.repeat(999)}${']'.repeat(999)}`,
    );
    expect(await rawExchange(ctx.path, deepest)).toBe('ack');
    const [line] = await take(client.stream(channel, listener), 1);
    expect(line).toBe(`{"event":"deepest","retry":5,"data":${'['.repeat(999)}${']'.repeat(999)}}`);
    await stillServes();
  });

  it('a client that disconnects mid-command is dropped quietly', async () => {
    await new Promise<void>((resolve) => {
      const socket = connect(ctx.path);
      socket.on('error', () => {});
      socket.once('connect', () => {
        socket.write('{"v": "b", "c": "');
        socket.destroy();
        resolve();
      });
    });
    await stillServes();
    expect(ctx.server.channels.get(channel).queueLength(listener)).toBe(1);
  });

  it('many bad clients at once, interleaved with good ones', async () => {
    const bad = Array.from({ length: 50 }, (_, i) => rawExchange(ctx.path, i % 2 ? '[' : '{"v": "nope"}'));
    const good = Array.from({ length: 50 }, (_, i) => client.dispatch(channel, listener, 'n', i));
    const [badReplies, goodReplies] = await Promise.all([Promise.all(bad), Promise.all(good)]);
    expect(badReplies.every((r) => r.startsWith('InvalidMessageFormat('))).toBe(true);
    expect(goodReplies.every((r) => r === 'ack')).toBe(true);
    expect(ctx.server.channels.get(channel).queueLength(listener)).toBe(50);
  });

  it('accepts integer ids as their decimal form, as a shell user would type them', async () => {
    expect(
      await rawExchange(ctx.path, JSON.stringify({ v: 'd', c: Number(channel), r: Number(listener), t: 'n' })),
    ).toBe('ack');
  });
});

describe('SocketServer: the default size limit is 1 MiB', () => {
  it('refuses a command just over 1 MiB and serves the next client', async () => {
    const ctx = await startServer();
    try {
      const client = new SocketClient(ctx.path);
      const c = await client.createChannel();
      const under = JSON.stringify({ v: 'b', c, t: 'big', p: 'x'.repeat(1024 * 1024 - 100) });
      expect(await rawExchange(ctx.path, under)).toBe('ack');
      const over = JSON.stringify({ v: 'b', c, t: 'big', p: 'x'.repeat(1024 * 1024) });
      expect(await rawExchange(ctx.path, over)).toBe(
        `InvalidMessageFormat('Command exceeds the limit of ${1024 * 1024} bytes')`,
      );
      expect(await client.createChannel()).toMatch(/^\d+$/);
    } finally {
      await ctx.close();
    }
  });

  it('a 1 MiB command nested 500,000 deep is refused after a short scan, never parsed', async () => {
    const ctx = await startServer();
    try {
      const client = new SocketClient(ctx.path);
      const c = await client.createChannel();
      const deep = `{"v": "b", "c": "${c}", "t": "x", "p": ${'['.repeat(500_000)}${']'.repeat(500_000)}}`;
      expect(deep.length).toBeLessThan(1024 * 1024);
      const refusal = "InvalidMessageFormat('Command nests deeper than 1000 levels of arrays and objects')";
      expect(await rawExchange(ctx.path, deep)).toBe(refusal);
      // Broken JSON past the deep part: the refusal names the depth, so JSON.parse never saw it.
      expect(await rawExchange(ctx.path, `${deep.slice(0, 600_000)}!`)).toBe(refusal);
      expect(await client.createChannel()).toMatch(/^\d+$/);
    } finally {
      await ctx.close();
    }
  });
});
