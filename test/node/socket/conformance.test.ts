// The socket protocol's scenarios (docs/protocol.md, "The socket protocol"), written once and run
// against our server (in memory, and on Redis when redis-server is installed) and eric-sse 0.6.1's
// (the stdlib-only Python peer in ../python/eric_sse_peer.py), with our SocketClient and with
// eric-sse's. Where the servers genuinely differ, both expectations are spelled out below with the
// reason; everything else must hold for all.
import { describe, expect } from 'vitest';
import { InvalidChannelException, InvalidListenerException, MESSAGE_TYPE_GAP } from '../../../src/index.js';
import { collect, pokeUntil, take } from '../helpers/async.js';
import { it, type ProtocolServer } from '../helpers/fixtures.js';
import { pythonJsonDumps, runPythonClient } from '../helpers/python.js';
import { hasRedisServer } from '../helpers/redis.js';
import { rawExchange } from '../helpers/socket.js';

/** A reply as expected: exactly this text, text matching this pattern, or made from the command as sent. */
type Reply = string | RegExp | ((sent: string) => string);

/** eric-sse's reply to a command it cannot find a key in: the command, as sent, in an InvalidMessageFormat. */
const echoed = (sent: string) => `InvalidMessageFormat('${sent}')`;

/** Whose replies to bad input a server gives. */
type Replies = 'ours' | 'eric-sse';

const servers: {
  name: string;
  protocol: ProtocolServer;
  replies: Replies;
  /** Whether `l` starts the listener and streams its queue. */
  listenStreams: boolean;
  /** Whether streams carry event ids and `i` resumes them (docs/protocol.md, "Event ids, histories and resume"). */
  resumes: boolean;
  /** A stream line's text for an event (without the newline), the `id` it was delivered with. */
  line: (event: object, id: string) => string;
}[] = [
  {
    name: 'our SocketServer',
    protocol: 'ours',
    replies: 'ours',
    listenStreams: true,
    resumes: true,
    // Each line carries its event's id (docs/protocol.md, "Event ids, histories and resume"): the
    // listener and its delivery count.
    line: (event, id) => JSON.stringify({ ...event, id }),
  },
  // The same server with its channels in Redis (docs/protocol.md, "Channels in Redis"): nothing a client sees differs.
  ...(hasRedisServer
    ? [
        {
          name: 'our SocketServer on Redis',
          protocol: 'ours-on-redis' as const,
          replies: 'ours' as const,
          listenStreams: true,
          resumes: true,
          line: (event: object, id: string) => JSON.stringify({ ...event, id }),
        },
      ]
    : []),
  {
    name: 'eric-sse 0.6.1',
    protocol: 'eric-sse',
    replies: 'eric-sse',
    // eric-sse 0.6 streams only a running listener, and `l` cannot start one: the stream ends at once.
    listenStreams: false,
    // eric-sse 0.6 has no event ids, and takes no notice of a command's `i`.
    resumes: false,
    // json.dumps: ', ' and ': ' separators, non-ASCII as \uXXXX.
    // No event ids: eric-sse 0.6 has none (its clients pass ours on with the rest of the line).
    line: (event) => pythonJsonDumps(event),
  },
];

// Bad input. Ours always answers InvalidMessageFormat naming the mistake
// (docs/protocol.md, "The socket protocol"); eric-sse answers repr() of whatever Python raised
// (JSONDecodeError, TypeError, KeyError), or echoes a command it cannot find a key in. Both answer
// every case in one reply and go on serving.
const badInput: {
  what: string;
  bytes: (c: string, l: string) => string | Buffer;
  reply: Record<Replies, Reply>;
}[] = [
  {
    what: 'malformed JSON',
    bytes: () => '{"v": "c"',
    reply: {
      ours: /^InvalidMessageFormat\("Malformed JSON: Expected ',' or '}' .+"\)$/,
      'eric-sse': /^JSONDecodeError\("Expecting ',' delimiter: .+"\)$/,
    },
  },
  {
    what: 'a JSON array',
    bytes: () => '["v", "c"]',
    reply: {
      ours: "InvalidMessageFormat('A command is a JSON object, not an array')",
      'eric-sse': /^TypeError\('list indices must be integers/,
    },
  },
  {
    what: 'a JSON number',
    bytes: () => '42',
    reply: {
      ours: "InvalidMessageFormat('A command is a JSON object, not a number')",
      'eric-sse': `TypeError("'int' object is not subscriptable")`,
    },
  },
  {
    what: 'JSON null',
    bytes: () => 'null',
    reply: {
      ours: "InvalidMessageFormat('A command is a JSON object, not null')",
      'eric-sse': `TypeError("'NoneType' object is not subscriptable")`,
    },
  },
  {
    what: 'a JSON string',
    bytes: () => '"not an object"',
    reply: {
      ours: "InvalidMessageFormat('A command is a JSON object, not a string')",
      'eric-sse': /^TypeError\("string indices must be integers/,
    },
  },
  {
    what: 'a missing verb',
    bytes: () => '{"c": "1"}',
    reply: { ours: `InvalidMessageFormat("Missing verb 'v'")`, 'eric-sse': echoed },
  },
  {
    what: 'an unknown verb',
    bytes: () => '{"v": "zz", "c": "1"}',
    reply: {
      ours: `InvalidMessageFormat('Unknown verb "zz" (expected one of c, r, d, b, l, w, rl, rc, rs, hello, own)')`,
      // An unknown verb is taken for one that carries a message, and 't' is missing.
      'eric-sse': echoed,
    },
  },
  {
    what: 'a verb that is not a string',
    bytes: () => '{"v": 5}',
    reply: { ours: /^InvalidMessageFormat\('Unknown verb 5 /, 'eric-sse': echoed },
  },
  {
    what: 'a dispatch without type',
    bytes: (c, l) => JSON.stringify({ v: 'd', c, r: l, p: 1 }),
    reply: { ours: `InvalidMessageFormat("Missing message type 't' for verb 'd'")`, 'eric-sse': echoed },
  },
  {
    what: 'a broadcast without type',
    bytes: (c) => JSON.stringify({ v: 'b', c }),
    reply: { ours: `InvalidMessageFormat("Missing message type 't' for verb 'b'")`, 'eric-sse': echoed },
  },
  {
    what: 'a type that is not a string',
    bytes: (c) => JSON.stringify({ v: 'b', c, t: 5 }),
    reply: {
      ours: `InvalidMessageFormat("Message type 't' must be a string, not 5")`,
      // Any JSON value is a type to eric-sse.
      'eric-sse': 'ack',
    },
  },
  {
    what: 'a dispatch without receiver',
    bytes: (c) => JSON.stringify({ v: 'd', c, t: 'x' }),
    reply: {
      ours: `InvalidMessageFormat("Missing receiver id 'r' (a string) for verb 'd'")`,
      'eric-sse': "InvalidListenerException('Invalid listener None')",
    },
  },
  {
    what: 'a listen without channel',
    bytes: (_, l) => JSON.stringify({ v: 'l', r: l }),
    reply: {
      ours: `InvalidMessageFormat("Missing channel id 'c' (a string) for verb 'l'")`,
      'eric-sse': "InvalidChannelException('No channel with id None')",
    },
  },
  {
    what: 'an event limit that is not a whole number, 1 or more',
    bytes: (c, l) => JSON.stringify({ v: 'l', c, r: l, n: 0 }),
    reply: {
      ours: `InvalidMessageFormat("Event limit 'n' must be a positive whole number, not 0")`,
      // eric-sse ignores `n` (docs/protocol.md, "Bounded streams: n"), and its `l` ends at once.
      'eric-sse': '',
    },
  },
  {
    what: 'an empty command',
    bytes: () => '',
    reply: {
      ours: "InvalidMessageFormat('Empty command')",
      'eric-sse': /^JSONDecodeError\('Expecting value: line 1 column 1 \(char 0\)'\)$/,
    },
  },
  {
    what: 'bytes that are not UTF-8',
    bytes: () => Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    reply: { ours: "InvalidMessageFormat('Command is not valid UTF-8')", 'eric-sse': /^UnicodeDecodeError\('utf-8', / },
  },
  {
    what: 'an unknown channel',
    bytes: () => JSON.stringify({ v: 'b', c: '999999', t: 'x' }),
    reply: {
      ours: "InvalidChannelException('No channel with id 999999')",
      'eric-sse': "InvalidChannelException('No channel with id 999999')",
    },
  },
  {
    what: 'an unknown listener',
    bytes: (c) => JSON.stringify({ v: 'd', c, r: '999999', t: 'x' }),
    reply: {
      ours: "InvalidListenerException('Invalid listener 999999')",
      'eric-sse': "InvalidListenerException('Invalid listener 999999')",
    },
  },
  {
    what: 'removing an unknown listener',
    bytes: (c) => JSON.stringify({ v: 'rl', c, r: '424242' }),
    reply: { ours: "InvalidListenerException('Invalid listener 424242')", 'eric-sse': "KeyError('424242')" },
  },
  {
    what: 'integer ids',
    bytes: (c, l) => JSON.stringify({ v: 'd', c: Number(c), r: Number(l), t: 'n' }),
    // Ours reads an integer id as its decimal form, as a shell user would type it.
    reply: {
      ours: 'ack',
      // eric-sse's ids are strings: a number finds no channel.
      'eric-sse': /^InvalidChannelException\('No channel with id \d+'\)$/,
    },
  },
];

/** The replies to the bad input named `what`. */
function replyTo(what: string): Record<Replies, Reply> {
  const row = badInput.find((r) => r.what === what);
  if (!row) throw new Error(`no bad input named ${what}`);
  return row.reply;
}

function expectReply(reply: string, expected: Reply, sent: string): void {
  if (expected instanceof RegExp) expect(reply).toMatch(expected);
  else expect(reply).toBe(typeof expected === 'function' ? expected(sent) : expected);
}

describe.each(servers)('the socket protocol against $name', (server) => {
  it.override('protocol', server.protocol);

  it('creates channels and listeners, dispatches, broadcasts and removes', async ({ protocolClient: client }) => {
    const c = await client.createChannel();
    expect(c).toMatch(/^\d+$/);
    const l = await client.register(c);
    expect(l).toMatch(/^\d+$/);
    expect(await client.dispatch(c, l, 'hello', { n: 1 })).toBe('ack');
    expect(await client.dispatch(c, l, 'bare')).toBe('ack');
    expect(await client.broadcastMessage(c, 'news', 'to all')).toBe('ack');
    expect(await client.removeListener(c, l)).toBe('ack');
    expect(await client.removeChannel(c)).toBe('ack');
    await expect(client.register(c)).rejects.toThrow(new InvalidChannelException(`No channel with id ${c}`));
  });

  it(`'l' ${server.listenStreams ? 'streams a listener, in order' : 'ends at once'}`, async ({
    protocolClient: client,
  }) => {
    const c = await client.createChannel();
    const l = await client.register(c);
    await client.dispatch(c, l, 'hello', { n: 1 });
    await client.dispatch(c, l, 'bare');
    await client.broadcastMessage(c, 'news', 'all');
    const lines = await take(client.stream(c, l), 3);
    const events = [
      { event: 'hello', retry: 5, data: { n: 1 } },
      { event: 'bare', retry: 5, data: null },
      { event: 'news', retry: 5, data: 'all' },
    ];
    expect(lines).toEqual(server.listenStreams ? events.map((event, n) => server.line(event, `${l}:${n + 1}`)) : []);
  });

  it("'w' hears broadcasts: one line per event, as the server writes JSON", async ({ protocolClient: client }) => {
    const c = await client.createChannel();
    const stream = client.watch(c)[Symbol.asyncIterator]();
    const first = await pokeUntil(
      stream.next(),
      (i) => client.broadcastMessage(c, 'tick', { i, text: 'h\u00e9llo' }),
      'the watch to hear a broadcast',
    );
    const line = first.value as string;
    const { data, id } = JSON.parse(line) as { data: { i: number }; id: string };
    expect(line).toBe(server.line({ event: 'tick', retry: 5, data: { i: data.i, text: 'h\u00e9llo' } }, id));
    await stream.return?.();
  });

  it(`'w' with 'i' ${server.resumes ? 'resumes (an id it never gave: a gap first)' : 'is a plain watch'}`, async ({
    protocolClient: client,
  }) => {
    const c = await client.createChannel();
    const stream = client.watch(c, { lastEventId: 'nobody:5' })[Symbol.asyncIterator]();
    const first = await pokeUntil(stream.next(), (i) => client.broadcastMessage(c, 'tick', i), 'the watch to hear');
    const event = JSON.parse(first.value as string) as object;
    if (server.resumes) expect(event).toMatchObject({ event: MESSAGE_TYPE_GAP, data: { after: 'nobody:5' } });
    else expect(event).toEqual({ event: 'tick', retry: 5, data: expect.any(Number) });
    await stream.return?.();
  });

  it("'w' with 'n' ends after n events, whatever the server (eric-sse's ignores n: our client leaves)", async ({
    protocolClient: client,
  }) => {
    const c = await client.createChannel();
    const stream = client.watch(c, { limit: 2 })[Symbol.asyncIterator]();
    const first = await pokeUntil(stream.next(), (i) => client.broadcastMessage(c, 'tick', i), 'the watch to hear');
    for (const n of [1, 2, 3]) await client.broadcastMessage(c, 'tock', n);
    const rest = await collect(stream);
    expect([first.value, ...rest].map((line) => JSON.parse(line as string).event)).toEqual([
      'tick',
      expect.stringMatching(/^(tick|tock)$/),
    ]);
  });

  it('error replies reject with typed errors; the raw reply is eric-sse shaped', async ({ protocolClient: client }) => {
    await expect(client.register('999')).rejects.toThrow(new InvalidChannelException('No channel with id 999'));
    expect(await client.sendRaw({ v: 'r', c: '999' })).toBe("InvalidChannelException('No channel with id 999')");
    const c = await client.createChannel();
    await expect(client.dispatch(c, '999', 'x')).rejects.toThrow(new InvalidListenerException('Invalid listener 999'));
    // The detail differs (eric-sse raises it without one); the class is the same.
    await expect(take(client.stream(c, '424242'), 1)).rejects.toBeInstanceOf(InvalidListenerException);
  });

  it.for(badInput)('$what: one reply, then the next client is served', async (row, { protocolClient: client }) => {
    const c = await client.createChannel();
    const l = await client.register(c);
    const bytes = row.bytes(c, l);
    expectReply(await rawExchange(client.path, bytes), row.reply[server.replies], String(bytes));
    expect(await client.dispatch(c, l, 'ok', { fine: true })).toBe('ack');
  });

  it("eric-sse's SocketClient works against it: ids, acks, stream lines, error replies", async ({ protocolServer }) => {
    const report = await runPythonClient(protocolServer);
    const c = report.create_channel as string;
    const l = report.register as string;
    expect(c).toMatch(/^\d+$/);
    expect(l).toMatch(/^\d+$/);
    expect(report.dispatch).toBe('ack');
    expect(report.dispatch_none).toBe('ack');
    expect(report.broadcast).toBe('ack');
    // Python's readline keeps the newline; each line is one event. Where 'l' ends at once, the
    // client's loop reads the end of file as one empty line.
    const events = [
      { event: 'hello', retry: 5, data: { n: 1, text: 'h\u00e9llo' } },
      { event: 'bare', retry: 5, data: null },
      { event: 'news', retry: 5, data: 'to all' },
    ];
    const lines = events.map((event, n) => `${server.line(event, `${l}:${n + 1}`)}\n`);
    expect(report.stream).toEqual(server.listenStreams ? lines : ['']);
    expect(report.register_unknown_channel).toBe("InvalidChannelException('No channel with id 999')");
    expect(report.dispatch_unknown_listener).toBe("InvalidListenerException('Invalid listener 999')");
    const withoutType = pythonJsonDumps({ v: 'd', c, r: l });
    expectReply(
      report.dispatch_without_type as string,
      replyTo('a dispatch without type')[server.replies],
      withoutType,
    );
    expectReply(report.malformed as string, replyTo('a JSON string')[server.replies], '"not an object"');
    expect(report.remove_listener).toBe('ack');
    expect(report.remove_channel).toBe('ack');
    expect(report.after_remove).toBe(`InvalidChannelException('No channel with id ${c}')`);
  });
});
