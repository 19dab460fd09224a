// docs/protocol.md, "Event ids, histories and resume" on the socket: event ids, each listener's
// history, `l`/`w` with `i`, `_eric_gap`, a watch's grace period.
import { describe, expect } from 'vitest';
import { MemoryStore, SocketClient, type SocketServer } from '../../../bridge/index.js';
import { MESSAGE_TYPE_GAP, Message, SSEChannelContainer } from '../../../src/index.js';
import { take, until } from '../helpers/async.js';
import { it } from '../helpers/fixtures.js';
import { rawExchange } from '../helpers/socket.js';

type Line = { event: string; retry: number; data: unknown; id: string };
const parse = (lines: string[]): Line[] => lines.map((line) => JSON.parse(line) as Line);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

/** A channel and a listener holding `count` queued messages numbered from 1. */
async function queued(client: SocketClient, server: SocketServer, count: number) {
  const c = await client.createChannel();
  const l = await client.register(c);
  const channel = server.channels.get(c);
  for (const n of range(1, count)) channel.dispatch(l, new Message('n', n));
  return { c, l, channel };
}

describe('SocketServer: resuming streams', () => {
  it('a resumed l on a new connection, after the old one dropped, continues exactly', async ({ client, server }) => {
    const { c, l, channel } = await queued(client, server, 1000);
    const first = parse(await take(client.stream(c, l), 10));
    expect(first.map((e) => e.data)).toEqual(range(1, 10));
    // The server had written far more than the client read (a socket buffer's worth at once): without
    // resume those events were gone with the connection. It has not noticed the departure yet (nothing
    // to write): the resumed stream takes over.
    expect(channel.queueLength(l)).toBeLessThan(990);
    for (const n of range(1001, 1010)) await client.dispatch(c, l, 'n', n);

    const rest = parse(await take(client.stream(c, l, { lastEventId: first.at(-1)!.id }), 1000));
    expect(rest.map((e) => e.data)).toEqual(range(11, 1010));
    // Replayed events keep their ids; ids go on increasing, one per delivered event.
    expect([...first, ...rest].map((e) => e.id)).toEqual(range(1, 1010).map((n) => `${l}:${n}`));
    expect(channel.queueLength(l)).toBe(0);
  });

  it('when the history no longer reaches back: one _eric_gap event first, then what is retained', async ({
    startServer,
  }) => {
    const server = await startServer({ history: 5, historyBytes: 0 });
    const client = new SocketClient(server.path);
    const { c, l } = await queued(client, server, 20);
    const seen = parse(await take(client.stream(c, l), 20));
    const resumed = parse(await take(client.stream(c, l, { lastEventId: seen[2]!.id }), 6));
    expect(resumed).toEqual([
      { event: MESSAGE_TYPE_GAP, retry: 5, data: { after: `${l}:3` }, id: `${l}:15` },
      ...range(16, 20).map((n) => ({ event: 'n', retry: 5, data: n, id: `${l}:${n}` })),
    ]);
    // The gap's id stands for what it covers: resuming after it replays from the oldest retained event.
    await client.dispatch(c, l, 'n', 21);
    const again = parse(await take(client.stream(c, l, { lastEventId: `${l}:15` }), 6));
    expect(again.map((e) => e.id)).toEqual(range(16, 21).map((n) => `${l}:${n}`));
  });

  it('an id the listener never gave is a gap too; resuming at the newest id replays nothing', async ({
    client,
    server,
  }) => {
    const { c, l } = await queued(client, server, 3);
    const seen = parse(await take(client.stream(c, l), 3));
    for (const unknown of ['nobody:2', `${l}:99`, 'not an id']) {
      const resumed = parse(await take(client.stream(c, l, { lastEventId: unknown }), 4));
      expect(resumed.map((e) => [e.event, e.data])).toEqual([
        [MESSAGE_TYPE_GAP, { after: unknown }],
        ['n', 1],
        ['n', 2],
        ['n', 3],
      ]);
    }
    await client.dispatch(c, l, 'n', 4);
    const resumed = parse(await take(client.stream(c, l, { lastEventId: seen[2]!.id }), 1));
    expect(resumed).toEqual([{ event: 'n', retry: 5, data: 4, id: `${l}:4` }]);
  });

  it('--history 0 keeps no events: a resume that missed none goes on, one that missed some gets a gap', async ({
    startServer,
  }) => {
    const server = await startServer({ history: 0 });
    const client = new SocketClient(server.path);
    const { c, l } = await queued(client, server, 3);
    const seen = parse(await take(client.stream(c, l), 3));
    await client.dispatch(c, l, 'n', 4);
    expect(parse(await take(client.stream(c, l, { lastEventId: seen[2]!.id }), 1)).map((e) => e.data)).toEqual([4]);
    await client.dispatch(c, l, 'n', 5);
    expect(parse(await take(client.stream(c, l, { lastEventId: seen[0]!.id }), 2))).toEqual([
      { event: MESSAGE_TYPE_GAP, retry: 5, data: { after: `${l}:1` }, id: `${l}:4` },
      { event: 'n', retry: 5, data: 5, id: `${l}:5` },
    ]);
  });

  it('w with i resumes the same watch: what it missed while away is replayed, then it goes on', async ({
    client,
    server,
  }) => {
    const c = await client.createChannel();
    const channel = server.channels.get(c);
    const watching = client.watch(c);
    const firstTen = take(watching, 10);
    await until(() => channel.size === 1, 'the watch to register');
    for (const n of range(1, 100)) channel.broadcast(new Message('n', n));
    const first = parse(await firstTen);
    // Its listener outlives the stream (which the server sees end at its next write) and keeps hearing broadcasts.
    for (const n of range(101, 150)) await client.broadcastMessage(c, 'n', n);
    await until(() => server.streams === 0, 'the server to see the watch stream end');
    expect(channel.size).toBe(1);

    const rest = parse(await take(client.watch(c, { lastEventId: first.at(-1)!.id }), 140));
    expect(rest.map((e) => e.data)).toEqual(range(11, 150));
    expect(new Set([...first, ...rest].map((e) => e.id)).size).toBe(150);
    expect(channel.size).toBe(1);
  });

  it('a watch left alone past its grace period is removed; resuming then starts a new watch with a gap', async ({
    startServer,
  }) => {
    const server = await startServer({ watchGraceMs: 20 });
    const client = new SocketClient(server.path);
    const c = await client.createChannel();
    const channel = server.channels.get(c);
    const watching = take(client.watch(c), 1);
    await until(() => channel.size === 1, 'the watch to register');
    await client.broadcastMessage(c, 'n', 1);
    const [seen] = parse(await watching);
    // An idle client's departure shows at the server's next write.
    await client.broadcastMessage(c, 'n', 2);
    await until(() => server.streams === 0 && channel.size === 0, 'the grace period to pass');

    const resumed = client.watch(c, { lastEventId: seen!.id })[Symbol.asyncIterator]();
    const gap = await resumed.next();
    expect(JSON.parse(gap.value as string)).toMatchObject({ event: MESSAGE_TYPE_GAP, data: { after: seen!.id } });
    expect(channel.size).toBe(1);
    await client.broadcastMessage(c, 'n', 3);
    expect(JSON.parse((await resumed.next()).value as string)).toMatchObject({ event: 'n', data: 3 });
    await resumed.return?.();
  });

  it('w with the id of a non-watch listener starts a new watch (with a gap) and leaves that listener be', async ({
    client,
    server,
  }) => {
    const { c, l, channel } = await queued(client, server, 1);
    const [seen] = parse(await take(client.stream(c, l), 1));
    const resumed = client.watch(c, { lastEventId: seen!.id })[Symbol.asyncIterator]();
    expect(JSON.parse((await resumed.next()).value as string)).toMatchObject({
      event: MESSAGE_TYPE_GAP,
      data: { after: `${l}:1` },
    });
    expect(channel.size).toBe(2);
    await resumed.return?.();
  });

  it('with no grace period a watch goes with its stream; shutdown removes the watches still in grace', async ({
    startServer,
  }) => {
    const channels = new SSEChannelContainer();
    const first = await startServer({ channels, watchGraceMs: 0 });
    let client = new SocketClient(first.path);
    const c = await client.createChannel();
    const channel = channels.get(c);
    const watching = take(client.watch(c), 1);
    await until(() => channel.size === 1, 'the watch to register');
    await client.broadcastMessage(c, 'n', 1);
    await watching;
    await client.broadcastMessage(c, 'n', 2);
    await until(() => channel.size === 0, 'the watch to go with its stream');
    await first.shutdown();

    const second = await startServer({ channels });
    client = new SocketClient(second.path);
    const watchingAgain = take(client.watch(c), 1);
    await until(() => channel.size === 1, 'the second watch to register');
    await client.broadcastMessage(c, 'n', 3);
    await watchingAgain;
    await client.broadcastMessage(c, 'n', 4);
    await until(() => second.streams === 0, 'the second watch stream to end');
    expect(channel.size).toBe(1);
    await second.shutdown();
    expect(channel.size).toBe(0);
  });

  it('refuses a history or a grace period that is not a count or a duration it can keep', () => {
    const bad = [
      { history: -1 },
      { history: 1.5 },
      { historyBytes: -1 },
      { watchGraceMs: -1 },
      { watchGraceMs: 2 ** 31 },
    ];
    for (const options of bad) expect(() => new MemoryStore(options)).toThrow(RangeError);
  });

  it("refuses an 'i' that is not a string", async ({ client, server }) => {
    const c = await client.createChannel();
    expect(await rawExchange(server.path, JSON.stringify({ v: 'w', c, i: 5 }))).toBe(
      'InvalidMessageFormat("Last event id \'i\' must be a string, not 5")',
    );
  });
});
