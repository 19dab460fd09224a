// docs/protocol.md, "Bounded streams: n" on the socket server, in memory and on Redis: `l` and `w`
// with `n` write at most n events, take no more than that off the queue, then end; `n` is validated.
import { describe, expect } from 'vitest';
import type { SocketClient } from '../../../bridge/index.js';
import { formatException, InvalidMessageFormat, MESSAGE_TYPE_GAP } from '../../../src/index.js';
import { collect } from '../helpers/async.js';
import { it, type ProtocolServer } from '../helpers/fixtures.js';
import { hasRedisServer } from '../helpers/redis.js';
import { rawExchange } from '../helpers/socket.js';

type Line = { event: string; retry: number; data: unknown; id: string };
const parse = (lines: string[]): Line[] => lines.map((line) => JSON.parse(line) as Line);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

/**
 * The lines a stream command gets on a connection of its own, once the server has closed it: a
 * bounded stream ends by itself (a client that stopped reading after n would prove nothing).
 */
async function linesOf(path: string, command: object): Promise<Line[]> {
  const text = await rawExchange(path, JSON.stringify(command));
  expect(text.endsWith('\n')).toBe(true);
  return parse(text.slice(0, -1).split('\n'));
}

/** A channel and a listener holding `count` queued messages, `n` 1, 2, … */
async function queued(client: SocketClient, count: number, payload = (n: number): unknown => n) {
  const c = await client.createChannel();
  const l = await client.register(c);
  for (const n of range(1, count)) await client.dispatch(c, l, 'n', payload(n) as number);
  return { c, l };
}

const stores: { name: string; protocol: ProtocolServer }[] = [
  { name: 'in memory', protocol: 'ours' },
  ...(hasRedisServer ? [{ name: 'on Redis', protocol: 'ours-on-redis' as const }] : []),
];

describe.each(stores)('SocketServer, channels $name: bounded streams (n)', ({ protocol }) => {
  it.override('protocol', protocol);

  it("'l' with n writes n events and ends the stream; the rest stay queued for the next", async ({
    protocolClient: client,
  }) => {
    const { c, l } = await queued(client, 3);
    const first = await linesOf(client.path, { v: 'l', c, r: l, n: 1 });
    expect(first).toEqual([{ event: 'n', retry: 5, data: 1, id: `${l}:1` }]);
    const rest = await linesOf(client.path, { v: 'l', c, r: l, n: 2 });
    expect(rest.map((e) => [e.data, e.id])).toEqual([
      [2, `${l}:2`],
      [3, `${l}:3`],
    ]);
    // Nothing more was taken: the next message is the next one out.
    await client.dispatch(c, l, 'n', 4);
    expect((await linesOf(client.path, { v: 'l', c, r: l, n: 1 })).map((e) => [e.data, e.id])).toEqual([[4, `${l}:4`]]);
  });

  it('a long queue taken n at a time, each stream opened as the last ends: none lost, none twice, order kept', async ({
    protocolClient: client,
  }) => {
    // 1 KB events, far more than a socket buffer holds: each stream's server could write many more.
    const { c, l } = await queued(client, 1000, (n) => ({ n, pad: 'x'.repeat(1000) }));
    const got: Line[] = [];
    for (let round = 0; round < 10; round++) {
      const limit = round === 9 ? 1000 - got.length : 97;
      const lines = parse(await collect(client.stream(c, l, { limit })));
      expect(lines).toHaveLength(limit);
      got.push(...lines);
    }
    expect(got.map((e) => (e.data as { n: number }).n)).toEqual(range(1, 1000));
    expect(got.map((e) => e.id)).toEqual(range(1, 1000).map((n) => `${l}:${n}`));
  });

  it('replayed events count against n; the rest of the replay stays for the next resume', async ({
    protocolClient: client,
  }) => {
    const { c, l } = await queued(client, 4);
    expect((await linesOf(client.path, { v: 'l', c, r: l, n: 4 })).map((e) => e.data)).toEqual([1, 2, 3, 4]);
    const replayed = await linesOf(client.path, { v: 'l', c, r: l, i: `${l}:1`, n: 2 });
    expect(replayed.map((e) => [e.data, e.id])).toEqual([
      [2, `${l}:2`],
      [3, `${l}:3`],
    ]);
    await client.dispatch(c, l, 'n', 5);
    const resumed = await linesOf(client.path, { v: 'l', c, r: l, i: `${l}:3`, n: 2 });
    expect(resumed.map((e) => [e.data, e.id])).toEqual([
      [4, `${l}:4`],
      [5, `${l}:5`],
    ]);
  });

  it("'w' with n: the gap of a new watch is an event too; the watch, resumed with i, goes on n at a time", async ({
    protocolClient: client,
  }) => {
    const c = await client.createChannel();
    // A watch resumed after an id it never gave is a new watch that starts with a gap: written at
    // once, so the watch exists (and waits its grace period) by the time the stream ends.
    const [gap] = await linesOf(client.path, { v: 'w', c, i: 'nobody:7', n: 1 });
    expect(gap).toMatchObject({ event: MESSAGE_TYPE_GAP, data: { after: 'nobody:7' } });
    const w = gap!.id.slice(0, gap!.id.indexOf(':'));
    for (const n of range(1, 5)) await client.broadcastMessage(c, 'n', n);
    const first = parse(await collect(client.watch(c, { lastEventId: gap!.id, limit: 2 })));
    expect(first.map((e) => [e.data, e.id])).toEqual([
      [1, `${w}:1`],
      [2, `${w}:2`],
    ]);
    const rest = await linesOf(client.path, { v: 'w', c, i: `${w}:2`, n: 3 });
    expect(rest.map((e) => [e.data, e.id])).toEqual([
      [3, `${w}:3`],
      [4, `${w}:4`],
      [5, `${w}:5`],
    ]);
  });

  it('an n that is not a whole number, 1 or more, is refused, and takes nothing from the queue', async ({
    protocolClient: client,
  }) => {
    const { c, l } = await queued(client, 1);
    const cases: [unknown, string][] = [
      [0, '0'],
      [-1, '-1'],
      [1.5, '1.5'],
      [2 ** 53, String(2 ** 53)],
      ['3', '"3"'],
      [null, 'null'],
      [true, 'true'],
      [[1], '[1]'],
    ];
    for (const [n, shown] of cases)
      for (const command of [
        { v: 'l', c, r: l, n },
        { v: 'w', c, n },
      ])
        expect(await rawExchange(client.path, JSON.stringify(command))).toBe(
          formatException(new InvalidMessageFormat(`Event limit 'n' must be a positive whole number, not ${shown}`)),
        );
    expect((await linesOf(client.path, { v: 'l', c, r: l, n: 1 })).map((e) => e.data)).toEqual([1]);
    // Our clients refuse it before sending.
    for (const limit of [0, 2.5, Number.NaN])
      expect(() => client.stream(c, l, { limit })).toThrow(
        new InvalidMessageFormat(`Event limit 'n' must be a positive whole number, not ${limit}`),
      );
    expect(() => client.watch(c, { limit: -3 })).toThrow(InvalidMessageFormat);
  });
});

describe('SocketServer: a bounded stream ends as streams end', () => {
  it('a watch ended by n waits its grace period: its listener stays for a resume', async ({ server }) => {
    const c = server.channels.add();
    const [gap] = await linesOf(server.path, { v: 'w', c: c.id, i: 'x:1', n: 1 });
    expect(gap!.event).toBe(MESSAGE_TYPE_GAP);
    expect(server.streams).toBe(0);
    // Still there, for a resume.
    expect(c.size).toBe(1);
  });
});
