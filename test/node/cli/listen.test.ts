import { describe, expect } from 'vitest';
import { SocketClient } from '../../../bridge/index.js';
import { formatException, InvalidMessageFormat, MESSAGE_TYPE_CLOSED, MESSAGE_TYPE_GAP } from '../../../src/index.js';
import { until } from '../helpers/async.js';
import { runCli, type startCli } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';
import { hasRedisServer, redisForTests } from '../helpers/redis.js';

/** The `startCli` fixture's shape (its processes are stopped after the test). */
type StartCli = typeof startCli;

describe('eric-bus listen: stopped by a signal', () => {
  it.for([
    ['--socket', 'SIGINT'],
    ['--url', 'SIGINT'],
    ['--socket', 'SIGTERM'],
    ['--url', 'SIGHUP'],
  ] as const)(
    'listen %s on %s leaves its idle stream at once, exits 0, and loses nothing',
    async ([how, signal], { stack, startCli }) => {
      const { server } = stack.backend;
      const client = new SocketClient(server.path);
      const c = await client.createChannel();
      const l = await client.register(c);
      await client.dispatch(c, l, 'first');
      const where = how === '--socket' ? server.path : stack.bridge.url;
      const listening = await startCli(['listen', how, where, c, l], '"event":"first"');
      // Idle now: nothing is queued, so the server cannot notice a silent departure (it finds out only
      // when it next writes).
      expect(server.streams).toBe(1);
      listening.child.kill(signal);
      expect(await listening.exited).toBe(0);
      await until(() => server.streams === 0, 'the server to release the stream');
      await client.dispatch(c, l, 'later');
      expect(server.channels.get(c).queueLength(l)).toBe(1);
      const heard = await runCli(['listen', '--socket', server.path, c, l, '--count', '1']);
      expect(JSON.parse(heard.stdout)).toMatchObject({ event: 'later' });
    },
  );

  it('listen --help says what each line carries, id included', async () => {
    expect((await runCli(['listen', '--help'])).stdout).toContain('{"event", "retry", "data", "id"}');
  });
});

type Line = { event: string; retry: number; data: unknown; id: string };

/** The JSON lines a command printed. */
const printed = (stdout: string): Line[] =>
  stdout === ''
    ? []
    : stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as Line);

/** [data, id] of each line: what to count. */
const dataAndIds = (lines: Line[]) => lines.map((e) => [e.data, e.id]);

describe('eric-bus listen --count / --last-event-id and send raw l/w, in memory and on Redis', () => {
  const redis = hasRedisServer ? redisForTests() : undefined;
  const stores: [string, () => string[]][] = [
    ['in memory', () => []],
    ...(redis ? [['on Redis', () => ['--redis', redis().url]] as [string, () => string[]]] : []),
  ];

  /** `eric-bus up` (in memory, or on Redis): the two ways to reach it, and a client to set things up with. */
  async function upOn(flags: string[], startCli: StartCli) {
    const running = await startCli(['up', '--port', '0', ...flags], /socket server on (\S+)[^\n]*\n.*bridge at (\S+)/);
    const [, socket, url] = running.match as unknown as [string, string, string];
    const ways: [string, string][] = [
      ['--socket', socket],
      ['--url', url],
    ];
    return { ways, direct: new SocketClient(socket) };
  }

  /** A channel and a listener with `count` messages queued, data 1, 2, … */
  async function queued(direct: SocketClient, count: number) {
    const c = await direct.createChannel();
    const l = await direct.register(c);
    for (let n = 1; n <= count; n++) await direct.dispatch(c, l, 'n', n);
    return { c, l };
  }

  describe.each(stores)('%s', (_, flags) => {
    it('listen --count N prints N events and leaves the rest queued, through --socket and --url', async ({
      startCli,
    }) => {
      const { ways, direct } = await upOn(flags(), startCli);
      for (const [how, where] of ways) {
        const { c, l } = await queued(direct, 3);
        const first = await runCli(['listen', how, where, c, l, '--count', '1']);
        expect([first.code, first.stderr]).toEqual([0, '']);
        expect(dataAndIds(printed(first.stdout))).toEqual([[1, `${l}:1`]]);
        const rest = await runCli(['listen', how, where, c, l, '--count', '2']);
        expect(dataAndIds(printed(rest.stdout))).toEqual([
          [2, `${l}:2`],
          [3, `${l}:3`],
        ]);
        // Nothing beyond them was taken: the next message is the next one out.
        await direct.dispatch(c, l, 'n', 4);
        const next = await runCli(['listen', how, where, c, l, '--count', '1']);
        expect(dataAndIds(printed(next.stdout))).toEqual([[4, `${l}:4`]]);
      }
    }, 120_000); // many CLI processes, each a Node start-up on a busy machine

    it('listen --last-event-id ID resumes after ID: the later events again, with their ids, then the queue', async ({
      startCli,
    }) => {
      const { ways, direct } = await upOn(flags(), startCli);
      for (const [how, where] of ways) {
        const { c, l } = await queued(direct, 4);
        const [first, second] = printed((await runCli(['listen', how, where, c, l, '--count', '2'])).stdout);
        expect(dataAndIds([first!, second!])).toEqual([
          [1, `${l}:1`],
          [2, `${l}:2`],
        ]);
        const resumed = await runCli(['listen', how, where, c, l, '--last-event-id', first!.id, '--count', '3']);
        expect(resumed.code).toBe(0);
        // Each event after the first once, in order, with its original id: 2 again, then 3 and 4 from the queue.
        expect(dataAndIds(printed(resumed.stdout))).toEqual([
          [2, `${l}:2`],
          [3, `${l}:3`],
          [4, `${l}:4`],
        ]);
      }
    }, 120_000);

    it('listen CHANNEL --last-event-id resumes a watch, --count at a time', async ({ startCli }) => {
      const { ways, direct } = await upOn(flags(), startCli);
      for (const [how, where] of ways) {
        const c = await direct.createChannel();
        // An id no watch carried: a new watch, whose stream starts with a gap (written at once).
        const [gap] = printed(
          (await runCli(['listen', how, where, c, '--last-event-id', 'nobody:0', '--count', '1'])).stdout,
        );
        expect(gap).toMatchObject({ event: MESSAGE_TYPE_GAP, data: { after: 'nobody:0' } });
        const w = gap!.id.split(':')[0];
        // The watch waits its grace period for a resume, hearing broadcasts meanwhile.
        for (let n = 1; n <= 3; n++) await direct.broadcastMessage(c, 'b', n);
        const two = await runCli(['listen', how, where, c, '--last-event-id', gap!.id, '--count', '2']);
        const one = await runCli(['listen', how, where, c, '--last-event-id', `${w}:2`, '--count', '1']);
        expect(dataAndIds([...printed(two.stdout), ...printed(one.stdout)])).toEqual([
          [1, `${w}:1`],
          [2, `${w}:2`],
          [3, `${w}:3`],
        ]);
      }
    }, 120_000);

    it("send raw with 'l' or 'w' streams as listen prints, until the stream ends", async ({ startCli }) => {
      const { ways, direct } = await upOn(flags(), startCli);
      for (const [how, where] of ways) {
        const { c, l } = await queued(direct, 3);
        const bounded = await runCli(['send', how, where, 'raw', JSON.stringify({ v: 'l', c, r: l, n: 2 })]);
        expect([bounded.code, bounded.stderr]).toEqual([0, '']);
        expect(dataAndIds(printed(bounded.stdout))).toEqual([
          [1, `${l}:1`],
          [2, `${l}:2`],
        ]);
        // Unbounded: it ends when its listener is removed, the closed event last.
        const open = await startCli(['send', how, where, 'raw', JSON.stringify({ v: 'l', c, r: l })], '"data":3');
        await direct.removeListener(c, l);
        expect(await open.exited).toBe(0);
        expect(printed(open.stdout()).map((e) => [e.event, e.data])).toEqual([
          ['n', 3],
          [MESSAGE_TYPE_CLOSED, null],
        ]);
        const watched = await runCli(['send', how, where, 'raw', JSON.stringify({ v: 'w', c, i: 'x:1', n: 1 })]);
        expect(printed(watched.stdout).map((e) => e.event)).toEqual([MESSAGE_TYPE_GAP]);
        // The server judges the command: a bad n is its error reply, exit 1.
        const refused = await runCli(['send', how, where, 'raw', JSON.stringify({ v: 'l', c, r: l, n: 0 })]);
        const why = new InvalidMessageFormat("Event limit 'n' must be a positive whole number, not 0");
        expect(refused).toEqual({ code: 1, stdout: '', stderr: `${formatException(why)}\n` });
      }
    }, 120_000);
  });

  it('--help says what --count and --last-event-id do, and that raw streams', async () => {
    const listenHelp = (await runCli(['listen', '--help'])).stdout;
    expect(listenHelp).toMatch(/--count N +stop after N events; the server takes no more than N off the queue/);
    expect(listenHelp).toMatch(/eric-sse's own server ignores\s+this/);
    expect(listenHelp).toMatch(/--last-event-id ID\n +resume after the event with this "id"/);
    expect((await runCli(['send', '--help'])).stdout).toMatch(
      /streaming command \("v": "l" or "w"\) prints one JSON line per event/,
    );
  });

  it('a --count or --last-event-id that is no number, or empty, is a usage error (exit 2)', async () => {
    for (const args of [['--count', '0'], ['--count', '2.5'], ['--last-event-id=']]) {
      const { code, stderr } = await runCli(['listen', '--socket', '/nowhere', '1', '2', ...args]);
      expect(code).toBe(2);
      expect(stderr).toMatch(/^eric-bus listen: --(count takes a positive integer|last-event-id needs an event id)/);
    }
  });
});
