// docs/protocol.md, "Sessions" on the socket server, in memory and on Redis, frame by frame over a raw
// connection: hello, the opening, every verb under its id, error frames for bad lines (the session
// goes on), streams under credit that never hold up the rest, cancel, a session closed mid-command
// and mid-stream, 10,000 pipelined commands counted, and a client that never reads its replies.
import { connect, type Socket } from 'node:net';
import { describe, expect } from 'vitest';
import { MemoryStore } from '../../../bridge/index.js';
import { formatException, InvalidMessageFormat, type Message } from '../../../src/index.js';
import { collect, until } from '../helpers/async.js';
import { it, type ProtocolServer } from '../helpers/fixtures.js';
import { hasRedisServer } from '../helpers/redis.js';
import { rawExchange } from '../helpers/socket.js';

type Frame = { id: number | string | null; ok?: string; error?: string; data?: Record<string, unknown>; end?: true };

/** A session over a raw connection: frames written as lines, frames read back as they come. */
class RawSession {
  readonly frames: Frame[] = [];
  readonly socket: Socket;
  #partial = '';
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      const lines = (this.#partial + text).split('\n');
      this.#partial = lines.pop()!;
      for (const line of lines) this.frames.push(JSON.parse(line) as Frame);
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(path: string): Promise<RawSession> {
    const socket = connect(path);
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const session = new RawSession(socket);
    session.write('{"v": "session"}');
    await session.until((frames) => frames.length >= 1);
    expect(session.frames.shift()).toEqual({ id: null, ok: 'session' });
    return session;
  }

  /** A session, with a channel (command id 1) and a listener on it (command id 2). */
  static async withListener(path: string): Promise<{ session: RawSession; c: string; l: string }> {
    const session = await RawSession.open(path);
    const c = (await session.call(1, { v: 'c' })).ok!;
    const l = (await session.call(2, { v: 'r', c })).ok!;
    return { session, c, l };
  }

  write(...lines: (string | object)[]): void {
    this.socket.write(lines.map((line) => `${typeof line === 'string' ? line : JSON.stringify(line)}\n`).join(''));
  }

  /** Waits until the frames so far satisfy `done` (bounded by the test's timeout). */
  async until(done: (frames: Frame[]) => boolean): Promise<void> {
    await until(() => done(this.frames), 'frames');
  }

  /** The frames under `id`, in order. */
  of(id: number | string | null): Frame[] {
    return this.frames.filter((frame) => frame.id === id);
  }

  /** Sends one command and waits for its one reply frame. */
  async call(id: number | string, command: object): Promise<Frame> {
    this.write({ id, ...command });
    await this.until(() => this.of(id).length > 0);
    return this.of(id)[0]!;
  }

  close(): void {
    this.socket.destroy();
  }
}

const error = (detail: string) => formatException(new InvalidMessageFormat(detail));

const stores: { name: string; protocol: ProtocolServer; kind: string }[] = [
  { name: 'in memory', protocol: 'ours', kind: 'memory' },
  ...(hasRedisServer ? [{ name: 'on Redis', protocol: 'ours-on-redis' as const, kind: 'redis' }] : []),
];

describe.each(stores)('SocketServer, channels $name: sessions', ({ protocol, kind }) => {
  it.override('protocol', protocol);

  it('hello says what the server offers, one-shot', async ({ protocolServer }) => {
    const hello = JSON.parse(await rawExchange(protocolServer, '{"v": "hello"}')) as Record<string, unknown>;
    expect(hello).toMatchObject({ server: 'eric-bus', store: { kind, ok: true } });
    expect(hello.features).toEqual(expect.arrayContaining(['ids', 'rs', 'session']));
    expect(typeof hello.version).toBe('string');
  });

  it('every verb answers under its id, on one connection', async ({ protocolServer }) => {
    const { session, c, l } = await RawSession.withListener(protocolServer);
    expect(await session.call(3, { v: 'd', c, r: l, t: 'hello', p: { n: 1 } })).toEqual({ id: 3, ok: 'ack' });
    expect(await session.call('four', { v: 'b', c, t: 'news' })).toEqual({ id: 'four', ok: 'ack' });
    session.write({ id: 5, v: 'l', c, r: l });
    await session.until(() => session.of(5).length >= 2);
    expect(session.of(5).map((frame) => frame.data)).toEqual([
      { event: 'hello', retry: 5, data: { n: 1 }, id: `${l}:1` },
      { event: 'news', retry: 5, data: null, id: `${l}:2` },
    ]);
    expect(await session.call(6, { v: 'rl', c, r: l })).toEqual({ id: 6, ok: 'ack' });
    // Removing the listener ends its stream: the closed event, then the end frame.
    await session.until(() => session.of(5).some((frame) => frame.end));
    expect(session.of(5).slice(2)).toEqual([
      { id: 5, data: { event: '_eric_channel_closed', retry: 5, data: null, id: `${l}:3` } },
      { id: 5, end: true },
    ]);
    expect(await session.call(7, { v: 'rc', c })).toEqual({ id: 7, ok: 'ack' });
    expect(await session.call(8, { v: 'rc', c })).toEqual({
      id: 8,
      error: `InvalidChannelException('No channel with id ${c}')`,
    });
    session.close();
  });

  it('a bad line gets an error frame, under its id when it has one, and the session goes on', async ({
    protocolServer,
  }) => {
    const session = await RawSession.open(protocolServer);
    session.write(
      'not json',
      '[1]',
      '{"v": "c"}',
      '{"id": 1}',
      '{"id": 2, "v": "zz"}',
      '{"id": 3, "v": "d", "c": "1"}',
    );
    session.write(`{"id": 4, "v": "b", "c": "1", "t": "x", "p": ${'['.repeat(1001)}${']'.repeat(1001)}}`);
    await session.until((frames) => frames.length >= 7);
    expect(session.of(null).map((frame) => frame.error)).toEqual([
      expect.stringMatching(/^InvalidMessageFormat\('Frame is not JSON/),
      error('Frame is not a JSON object'),
      error("Frame has no 'id'"),
    ]);
    expect(session.of(1)).toEqual([{ id: 1, error: error("Missing verb 'v'") }]);
    expect(session.of(2)).toEqual([{ id: 2, error: error('Unknown verb "zz"') }]);
    expect(session.of(3)[0]!.error).toMatch(/^InvalidMessageFormat\(/);
    expect(session.of(4)).toEqual([
      { id: 4, error: error('Frame nests deeper than 1000 levels of arrays and objects') },
    ]);
    // Still open and serving.
    expect((await session.call(5, { v: 'c' })).ok).toMatch(/^\d+$/);
    session.close();
  });

  it('an id already in flight is refused under that id; the first command goes on', async ({ protocolServer }) => {
    const { session, c, l } = await RawSession.withListener(protocolServer);
    session.write({ id: 3, v: 'l', c, r: l }, { id: 3, v: 'c' });
    await session.until(() => session.of(3).length >= 1);
    expect(session.of(3)).toEqual([{ id: 3, error: error('Id 3 is already in flight') }]);
    await session.call(4, { v: 'd', c, r: l, t: 'still', p: 1 });
    await session.until(() => session.of(3).length >= 2);
    expect(session.of(3)[1]!.data).toMatchObject({ event: 'still', data: 1 });
    session.close();
  });

  it('a line over the size limit is refused and dropped; the next line is served', async ({ startServer }) => {
    const server = await startServer({ maxBytes: 4096 });
    const session = await RawSession.open(server.path);
    session.write({ id: 1, v: 'b', c: '1', t: 'big', p: 'x'.repeat(10_000) }, { id: 2, v: 'c' });
    await session.until((frames) => frames.length >= 2);
    expect(session.frames).toEqual([
      { id: null, error: error('Frame exceeds the limit of 4096 bytes') },
      { id: 2, ok: expect.stringMatching(/^\d+$/) },
    ]);
    session.close();
  });

  it('an opening sent with more frames than a one-shot command may hold is a session all the same', async ({
    startServer,
  }) => {
    const server = await startServer({ maxBytes: 4096 });
    const socket = connect(server.path);
    await new Promise((resolve) => socket.once('connect', resolve));
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    const frames = Array.from({ length: 200 }, (_, k) => JSON.stringify({ id: k, v: 'c', pad: 'xxxxxxxxxx' }));
    expect(frames.join('\n').length).toBeGreaterThan(4096);
    socket.write(`{"v": "session"}\n${frames.join('\n')}\n`);
    await until(() => text.split('\n').length > 201, 'every reply');
    const replies = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Frame);
    expect(replies[0]).toEqual({ id: null, ok: 'session' });
    expect(new Set(replies.slice(1).map((frame) => frame.id)).size).toBe(200);
    expect(replies.slice(1).every((frame) => typeof frame.ok === 'string')).toBe(true);
    socket.destroy();
  });

  it('a stream sends its window, then waits for credit; cancel stops it and sends nothing more', async ({
    protocolServer,
  }) => {
    const { session, c, l } = await RawSession.withListener(protocolServer);
    for (let n = 1; n <= 10; n++) await session.call(100 + n, { v: 'd', c, r: l, t: 'n', p: n });
    session.write({ id: 3, v: 'l', c, r: l, credit: 3 });
    await session.until(() => session.of(3).length >= 3);
    // Another command crosses the stream that waits for credit: the stream holds up nothing.
    expect(await session.call(4, { v: 'c' })).toMatchObject({ id: 4 });
    expect(session.of(3)).toHaveLength(3);
    session.write({ id: 3, v: 'credit', credit: 4 });
    await session.until(() => session.of(3).length >= 7);
    expect(session.of(3).map((frame) => frame.data!.data)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    session.write({ id: 3, v: 'cancel' });
    // After the cancel: the next command's reply, and nothing more for stream 3, credit or not.
    session.write({ id: 3, v: 'credit', credit: 100 });
    await session.call(5, { v: 'c' });
    expect(session.of(3)).toHaveLength(7);
    session.close();
    // What the stream did not send stays queued: 8, 9, 10, for the next stream, exactly once.
    const rest = await rawExchange(protocolServer, JSON.stringify({ v: 'l', c, r: l, n: 3 }));
    expect(
      rest
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { data: number }).data),
    ).toEqual([8, 9, 10]);
  });

  it('a stream without a window gets 256 events, then waits for credit', async ({ protocolServer }) => {
    const { session, c, l } = await RawSession.withListener(protocolServer);
    const batch = Array.from({ length: 300 }, (_, k) => ({ id: 1000 + k, v: 'd', c, r: l, t: 'n', p: k }));
    session.write(...batch);
    await session.until(() => batch.every(({ id }) => session.of(id).length === 1));
    session.write({ id: 3, v: 'l', c, r: l });
    await session.until(() => session.of(3).length >= 256);
    await session.call(4, { v: 'c' });
    expect(session.of(3)).toHaveLength(256);
    session.write({ id: 3, v: 'credit', credit: 44 });
    await session.until(() => session.of(3).length >= 300);
    expect(session.of(3).map((frame) => frame.data!.data)).toEqual(batch.map(({ p }) => p));
    session.close();
  });

  it('closing a session mid-stream ends the stream as rs does; a resume loses nothing, repeats nothing', async ({
    protocolServer,
  }) => {
    const { session, c, l } = await RawSession.withListener(protocolServer);
    const w = await RawSession.open(protocolServer);
    w.write({ id: 1, v: 'w', c });
    for (let n = 1; n <= 20; n++) await session.call(100 + n, { v: 'd', c, r: l, t: 'n', p: n });
    session.write({ id: 3, v: 'l', c, r: l, credit: 5 });
    await session.until(() => session.of(3).length >= 5);
    const lastId = session.of(3)[4]!.data!.id as string;
    // A command in flight when the session goes: it may run, and nothing else breaks.
    session.write({ id: 4, v: 'b', c, t: 'bye' });
    session.close();
    await session.closed;
    // The watch of the other session heard the broadcast or not, but is still there: the session
    // that left took only its own stream with it.
    const watcher = await RawSession.open(protocolServer);
    const resumed = await rawExchange(protocolServer, JSON.stringify({ v: 'l', c, r: l, i: lastId, n: 15 }));
    const data = resumed
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { data: number | null }).data);
    expect(data.slice(0, 15)).toEqual(Array.from({ length: 15 }, (_, k) => 6 + k));
    w.close();
    watcher.close();
  });

  it('10,000 pipelined commands: each answered once under its id, delivered once and in order', async ({
    protocolServer,
  }) => {
    const { session, c, l } = await RawSession.withListener(protocolServer);
    const total = 10_000;
    for (let from = 0; from < total; from += 1000)
      session.write(
        ...Array.from({ length: 1000 }, (_, k) => ({ id: 10_000 + from + k, v: 'd', c, r: l, t: 'n', p: from + k })),
      );
    await session.until(
      (frames) => frames.filter((frame) => typeof frame.id === 'number' && frame.id >= 10_000).length >= total,
    );
    const replies = session.frames.filter((frame) => typeof frame.id === 'number' && frame.id >= 10_000);
    expect(replies).toHaveLength(total);
    expect(new Set(replies.map((frame) => frame.id)).size).toBe(total);
    expect(replies.every((frame) => frame.ok === 'ack')).toBe(true);
    const lines = await collect(
      (async function* () {
        const text = await rawExchange(protocolServer, JSON.stringify({ v: 'l', c, r: l, n: total }));
        yield* text.trim().split('\n');
      })(),
      total + 1,
    );
    expect(lines.map((line) => (JSON.parse(line) as { data: number }).data)).toEqual(
      Array.from({ length: total }, (_, k) => k),
    );
    session.close();
  });
});

describe('SocketServer: a session that never reads its replies', () => {
  it('stops being read: what it makes the server do stays bounded', async ({ server, client }) => {
    const c = await client.createChannel();
    const l = await client.register(c);
    const socket = connect(server.path);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.on('error', () => {});
    socket.write('{"v": "session"}\n');
    // Commands whose replies are never read: 200,000, about 13 MB, far more than the buffers between
    // the two sides and the server's own high-water mark hold.
    const line = (k: number) => `${JSON.stringify({ id: k, v: 'd', c, r: l, t: 'n', p: k })}\n`;
    let written = 0;
    const total = 200_000;
    /** Writes until the socket is full; false once it is. */
    const fill = () => {
      while (written < total) if (!socket.write(line(written++))) return false;
      return true;
    };
    fill();
    // The socket filled up: the server no longer reads this session.
    expect(written).toBeLessThan(total);
    const queue = () => server.channels.get(c).queueLength(l);
    // Five round trips of another client: time for the server to run whatever it could still read.
    for (let k = 0; k < 5; k++) expect(await client.createChannel()).toMatch(/^\d+$/);
    const executed = queue();
    // At most what fills the server's 1 MiB of unread replies and the sockets' buffers (about 60,000
    // commands of this size), then nothing more while the client does not read.
    expect(executed).toBeLessThan(100_000);
    for (let k = 0; k < 5; k++) await client.createChannel();
    expect(queue()).toBe(executed);
    // Once the client reads, the rest is served: every command, answered once.
    let replies = 0;
    let partial = '';
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      replies += lines.length;
    });
    const more = () => {
      if (!fill()) socket.once('drain', more);
    };
    more();
    await until(() => replies === total + 1, 'every reply');
    expect(queue()).toBe(total);
    socket.destroy();
  });
});

describe('SocketServer: commands in flight on one session', () => {
  it('runs at most 256 at once, pausing its reads past them, never refusing; every one answered once', async ({
    startServer,
  }) => {
    /** A store whose dispatches wait until released, counting how many wait at once. */
    class HeldStore extends MemoryStore {
      running = 0;
      most = 0;
      readonly #waiting: (() => void)[] = [];
      override async dispatch(channelId: string, listenerId: string, msg: Message): Promise<void> {
        this.running++;
        this.most = Math.max(this.most, this.running);
        await new Promise<void>((resolve) => this.#waiting.push(resolve));
        this.running--;
        super.dispatch(channelId, listenerId, msg);
      }
      release(): void {
        for (const resolve of this.#waiting.splice(0)) resolve();
      }
    }
    const store = new HeldStore();
    const server = await startServer({ store });
    const { session, c, l } = await RawSession.withListener(server.path);
    const total = 1_000;
    const first = 10;
    session.write(...Array.from({ length: total }, (_, k) => ({ id: first + k, v: 'd', c, r: l, t: 'n', p: k })));
    await until(() => store.running === 256, '256 commands to run');
    // The rest wait unread: another client's command still goes through meanwhile.
    const other = await RawSession.open(server.path);
    expect(await other.call(1, { v: 'r', c })).toMatchObject({ ok: expect.any(String) });
    expect(store.most).toBe(256);
    // Released as they come: the held ones finish, the paused reads go on, 256 at a time at most.
    const replies = () => session.frames.filter((frame) => Number(frame.id) >= first);
    for (let round = 0; replies().length < total && round < total; round++) {
      const answered = replies().length;
      store.release();
      await until(() => replies().length > answered, 'the released commands to be answered');
    }
    expect(store.most).toBe(256);
    expect(
      replies()
        .map((frame) => frame.id)
        .sort((x, y) => Number(x) - Number(y)),
    ).toEqual(Array.from({ length: total }, (_, k) => first + k));
    expect(replies().every((frame) => frame.ok === 'ack')).toBe(true);
    expect(server.channels.get(c).queueLength(l)).toBe(total);
    session.close();
    other.close();
  });
});
