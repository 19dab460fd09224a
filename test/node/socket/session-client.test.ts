// SocketClient on sessions (docs/protocol.md, "Sessions"): it asks the server once what it offers, then
// carries many commands and streams on one connection, in memory and on Redis; in front of eric-sse's
// server it sends one connection per command. The session opens again after the server closed it, a
// command in flight when it dropped fails typed, and an idle session lets the process exit.
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { RedisStore, type ServerLogger, SocketClient } from '../../../bridge/index.js';
import { LineSplitter } from '../../../bridge/socket/lines.js';
import { SessionClient } from '../../../bridge/socket/session-client.js';
import {
  ClientClosed,
  ConnectionLost,
  InvalidListenerException,
  InvalidMessageFormat,
  setLogger,
} from '../../../src/index.js';
import { collect, take, until } from '../helpers/async.js';
import { startCli } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';
import { startPythonServer } from '../helpers/python.js';
import { hasRedisServer, redisForTests } from '../helpers/redis.js';

type Line = { event: string; retry: number; data: unknown; id: string };
const parse = (lines: string[]): Line[] => lines.map((line) => JSON.parse(line) as Line);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);
const DIST = join(import.meta.dirname, '../../../dist/bridge/index.js');

/**
 * A server logger that counts what the server reports: `session opened`, `session closed`, and each
 * one-shot command by its verb (`command hello`, `command d`).
 */
function countingLogger(): { logger: ServerLogger; count: (what: string) => number } {
  const counts = new Map<string, number>();
  const note = (message: string) => {
    const key = message.startsWith('command ') ? message.split(' ', 2).join(' ') : message;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  return { logger: { info: note, warn() {}, error() {} }, count: (what) => counts.get(what) ?? 0 };
}

/**
 * A socket server whose sessions the test scripts: it answers `hello` as an eric-bus server that
 * offers sessions, opens each session, and hands every frame to `onFrame` with its socket and the
 * session's number (1, 2, …).
 */
async function scriptedSessions(
  dir: string,
  onFrame: (frame: Record<string, unknown>, socket: Socket, session: number) => void,
) {
  const path = join(dir, 'scripted.sock');
  const sockets = new Set<Socket>();
  const frames: Record<string, unknown>[] = [];
  let sessions = 0;
  let hellos = 0;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const splitter = new LineSplitter();
    let session = 0;
    socket.on('data', (chunk: Buffer) => {
      for (const line of splitter.push(chunk)) {
        if (session === 0) {
          session = ++sessions;
          socket.write('{"id":null,"ok":"session"}\n');
        } else {
          const frame = JSON.parse(line) as Record<string, unknown>;
          frames.push(frame);
          onFrame(frame, socket, session);
        }
      }
    });
    socket.once('end', () => {
      if (session !== 0) return void socket.end();
      hellos++;
      const features = ['ids', 'rs', 'session', 'n', 'own'];
      socket.end(JSON.stringify({ server: 'eric-bus', version: '0', features, store: { kind: 'memory', ok: true } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    frames,
    sessions: () => sessions,
    hellos: () => hellos,
    close: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

const stores = [{ name: 'in memory', redis: false }, ...(hasRedisServer ? [{ name: 'on Redis', redis: true }] : [])];

describe.each(stores)('SocketClient on a session, channels $name', ({ redis: onRedis }) => {
  const redis = onRedis ? redisForTests() : undefined;
  const store = async () => (redis ? { store: await RedisStore.connect(redis().url) } : {});

  it('10,000 dispatches on one session: each answered once under its id; the listener gets all in order', async ({
    startServer,
  }) => {
    const { logger, count } = countingLogger();
    const server = await startServer({ logger, ...(await store()) });
    const client = new SocketClient(server.path);
    const c = await client.createChannel();
    const l = await client.register(c);
    // Every 100th command also goes to a listener that does not exist, whose error names it: a reply
    // routed to the wrong command would show.
    const sent = range(0, 9999).map((n) => ({
      n,
      ack: client.dispatch(c, l, 'n', n),
      missing: n % 100 === 0 ? client.dispatch(c, `missing-${n}`, 'n', n).catch((error: Error) => error) : undefined,
    }));
    const acks = await Promise.all(sent.map((s) => s.ack));
    expect(acks.filter((reply) => reply === 'ack')).toHaveLength(10_000);
    for (const { n, missing } of sent.filter((s) => s.missing)) {
      const error = await missing;
      expect(error).toBeInstanceOf(InvalidListenerException);
      expect((error as Error).message).toBe(`Invalid listener missing-${n}`);
    }
    const events = parse(await collect(client.stream(c, l, { limit: 10_000 })));
    expect(events.map((e) => e.data)).toEqual(range(0, 9999));
    expect(events.map((e) => e.id)).toEqual(range(1, 10_000).map((k) => `${l}:${k}`));
    // One question, one session: nothing went on a connection of its own.
    expect([count('command hello'), count('session opened'), count('command d'), count('command c')]).toEqual([
      1, 1, 0, 0,
    ]);
    await client.close();
  }, 60_000);

  it("a break loses at most the stream's window; resuming after the last event taken loses nothing", async ({
    startServer,
  }) => {
    const server = await startServer(await store());
    const window = 8;
    const client = new SocketClient(server.path, { streamWindow: window });
    const c = await client.createChannel();
    const l = await client.register(c);
    await Promise.all(range(0, 199).map((n) => client.dispatch(c, l, 'n', n)));
    const first = parse(await take(client.stream(c, l), 10));
    expect(first.map((e) => e.data)).toEqual(range(0, 9));
    // The server stopped at the window: what it sent and the consumer did not take is all that is gone.
    const next = parse(await take(client.stream(c, l), 1))[0]!;
    expect(next.data as number).toBeGreaterThanOrEqual(10);
    expect(next.data as number).toBeLessThanOrEqual(10 + window);
    const resumed = parse(await collect(client.stream(c, l, { lastEventId: first.at(-1)!.id, limit: 190 })));
    expect(resumed.map((e) => e.data)).toEqual(range(10, 199));
    await client.close();
  });

  it('a bounded stream sends n events, even woken by the session as it settles: the next starts after them', async ({
    startServer,
  }) => {
    const server = await startServer(await store());
    const client = new SocketClient(server.path);
    const c = await client.createChannel();
    const l = await client.register(c);
    await Promise.all(range(1, 1000).map((n) => client.dispatch(c, l, 'n', n)));
    const sessions = new SessionClient(server.path);
    const session = (await sessions.withSession((s) => s))!;
    // Each stream of 97 is followed at once by the next, on the same session, before its end frame:
    // the new frame wakes the old stream while it waits for its deliveries to be recorded.
    const streams: number[][] = [];
    for (let round = 0; round < 11; round++) {
      const want = Math.min(97, 1000 - 97 * round);
      const events: number[] = [];
      streams.push(events);
      await new Promise<void>((resolve, reject) => {
        session.stream({ v: 'l', c, r: l, n: want }, 256, {
          event: (line) => {
            events.push((JSON.parse(line) as Line).data as number);
            if (events.length === want) resolve();
          },
          end: () => (events.length < want ? reject(new Error(`ended after ${events.length}`)) : undefined),
          error: reject,
        });
      });
    }
    // Each stream's end frame has come by the time this command's reply comes back.
    await client.createChannel();
    expect(streams.map((events) => events.length)).toEqual([...range(1, 10).map(() => 97), 30]);
    expect(streams.flat()).toEqual(range(1, 1000));
    await sessions.close();
    await client.close();
  });

  it('a stream cancelled as soon as it opens takes nothing off its queue', async ({ startServer }) => {
    const server = await startServer(await store());
    const client = new SocketClient(server.path);
    const c = await client.createChannel();
    const l = await client.register(c);
    await Promise.all(range(1, 5).map((n) => client.dispatch(c, l, 'n', n)));
    // The stream's frame and its cancel go out in one write: the server ends it as its feed opens.
    const stream = client.stream(c, l)[Symbol.asyncIterator]();
    const pending = stream.next();
    await stream.return!();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(parse(await collect(client.stream(c, l, { limit: 5 }))).map((e) => e.data)).toEqual(range(1, 5));
    await client.close();
  });

  it('the session opens again after the server closed it idle, with a new hello', async ({ startServer }) => {
    const { logger, count } = countingLogger();
    const server = await startServer({ logger, sessionIdleMs: 50, ...(await store()) });
    const client = new SocketClient(server.path);
    const c = await client.createChannel();
    await until(() => count('session closed') === 1, 'the server to close the idle session');
    expect(await client.register(c)).toMatch(/^\d+$/);
    expect([count('command hello'), count('session opened')]).toEqual([2, 2]);
    await client.close();
  });

  it('a command too long for the server gets its typed error on the session, which goes on', async ({
    startServer,
  }) => {
    const { logger, count } = countingLogger();
    const server = await startServer({ logger, maxBytes: 1000, ...(await store()) });
    const client = new SocketClient(server.path);
    const c = await client.createChannel();
    const l = await client.register(c);
    const big = 'x'.repeat(2000);
    const outcomes = await Promise.allSettled([
      client.dispatch(c, l, 'n', 1),
      client.dispatch(c, l, 'big', big),
      client.dispatch(c, l, 'n', 2),
      client.dispatch(c, l, 'big', big),
      client.dispatch(c, l, 'n', 3),
    ]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).name))).toEqual([
      'ack',
      'InvalidMessageFormat',
      'ack',
      'InvalidMessageFormat',
      'ack',
    ]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(
      new InvalidMessageFormat('Frame exceeds the limit of 1000 bytes'),
    );
    // Now that the limit is known, the next one is refused before it is sent, in the same words.
    await expect(client.broadcastMessage(c, 'big', big)).rejects.toThrow('Frame exceeds the limit of 1000 bytes');
    expect(parse(await collect(client.stream(c, l, { limit: 3 }))).map((e) => e.data)).toEqual([1, 2, 3]);
    expect(count('session opened')).toBe(1);
    await client.close();
  });
});

describe('SocketClient: which servers get sessions', () => {
  it("asks once: our server offers sessions; eric-sse's refuses hello, and gets a connection per command", async ({
    dir,
    server,
  }) => {
    const ours = new SessionClient(server.path);
    expect(await ours.withSession((session) => session !== undefined)).toBe(true);
    await ours.close();

    const path = join(dir, 'eric-sse.sock');
    const stopPython = await startPythonServer(path);
    try {
      const theirs = new SessionClient(path);
      expect(await theirs.withSession((session) => session)).toBeUndefined();
      // The answer is kept: a command decides at once, without asking again.
      let decided = false;
      const next = theirs.withSession((session) => (decided = session === undefined));
      expect(decided).toBe(true);
      await next;
      const client = new SocketClient(path);
      const c = await client.createChannel();
      const l = await client.register(c);
      expect(await Promise.all(range(1, 50).map((n) => client.dispatch(c, l, 'n', n)))).toEqual(
        range(1, 50).map(() => 'ack'),
      );
      await client.close();
    } finally {
      await stopPython();
    }
  });

  it('no server on the path: the command fails as before, and the next one asks again', async ({ dir }) => {
    const client = new SocketClient(join(dir, 'none.sock'));
    await expect(client.createChannel()).rejects.toThrow(/^No server listening on .*none\.sock \(ENOENT\)$/);
    await expect(client.createChannel()).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('sessions: false sends each command on a connection of its own', async ({ startServer }) => {
    const { logger, count } = countingLogger();
    const server = await startServer({ logger });
    const client = new SocketClient(server.path, { sessions: false });
    const c = await client.createChannel();
    await client.register(c);
    expect([count('command hello'), count('session opened'), count('command c'), count('command r')]).toEqual([
      0, 0, 1, 1,
    ]);
  });
});

describe('SocketClient: a session that ends under its commands', () => {
  it('a command in flight when the session drops fails with ConnectionLost; the next opens a new session', async ({
    dir,
  }) => {
    const scripted = await scriptedSessions(dir, (frame, socket, session) => {
      if (session === 1) socket.destroy();
      else socket.write(`${JSON.stringify({ id: frame.id, ok: 'ack' })}\n`);
    });
    try {
      const client = new SocketClient(scripted.path);
      const lost = await client.dispatch('1', '1', 'n', 1).catch((error: Error) => error);
      expect(lost).toBeInstanceOf(ConnectionLost);
      expect((lost as Error).message).toMatch(/before the reply to command 1: it may have run$/);
      // Not sent again: the next command is the only one the second session sees.
      expect(await client.dispatch('1', '1', 'n', 2)).toBe('ack');
      expect(scripted.frames.map((f) => f.p)).toEqual([1, 2]);
      expect([scripted.hellos(), scripted.sessions()]).toEqual([2, 2]);
      await client.close();
    } finally {
      await scripted.close();
    }
  });

  it('close(): commands in flight and after fail with ClientClosed, streams end; close again is a no-op', async ({
    dir,
  }) => {
    const scripted = await scriptedSessions(dir, () => {}); // never answers
    try {
      const client = new SocketClient(scripted.path);
      const inFlight = client.createChannel().catch((error: Error) => error);
      const stream = client.watch('1')[Symbol.asyncIterator]();
      const streamed = stream.next();
      await until(() => scripted.frames.length === 2, 'the server to get both frames');
      await client.close();
      expect(await inFlight).toBeInstanceOf(ClientClosed);
      expect(await streamed).toEqual({ value: undefined, done: true });
      await client.close();
      await expect(client.createChannel()).rejects.toBeInstanceOf(ClientClosed);
      await expect(take(client.watch('1'), 1)).rejects.toBeInstanceOf(ClientClosed);
    } finally {
      await scripted.close();
    }
  });

  it('an error frame with no id that names no command is logged and ignored; the session goes on', async ({ dir }) => {
    const scripted = await scriptedSessions(dir, (frame, socket) => {
      socket.write(`{"id":null,"error":"InvalidMessageFormat('Frame has no id')"}\n`);
      socket.write(`${JSON.stringify({ id: frame.id, ok: 'ack' })}\n`);
    });
    const warnings: string[] = [];
    const previous = setLogger({ warn: (...parts) => warnings.push(parts.join(' ')), error() {} });
    try {
      const client = new SocketClient(scripted.path);
      expect(await client.dispatch('1', '1', 'n', 1)).toBe('ack');
      expect(warnings).toEqual([
        "eric-bus: the socket server refused a line of a session: InvalidMessageFormat('Frame has no id')",
      ]);
      await client.close();
    } finally {
      setLogger(previous);
      await scripted.close();
    }
  });

  it('a server killed amid commands: each is acked or ConnectionLost; the next server on the path serves on', async ({
    dir,
  }) => {
    const path = join(dir, 'bus.sock');
    const first = await startCli(['serve', '--socket', path], 'serving on');
    const client = new SocketClient(path);
    try {
      const c = await client.createChannel();
      const l = await client.register(c);
      // More than the server runs before the kill lands, so that some are in flight (and some not sent).
      const replies = range(1, 20_000).map((n) => client.dispatch(c, l, 'n', n));
      await replies[0];
      first.child.kill('SIGKILL');
      const outcomes = await Promise.allSettled(replies);
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled') expect(outcome.value).toBe('ack');
        else expect(outcome.reason).toBeInstanceOf(ConnectionLost);
      }
      await first.exited;
      const second = await startCli(['serve', '--socket', path], 'serving on');
      try {
        expect(await client.createChannel()).toBe('1');
      } finally {
        await second.close();
      }
    } finally {
      await client.close();
      await first.close();
    }
  });

  it('an idle session does not keep the process alive', async ({ dir }) => {
    const path = join(dir, 'bus.sock');
    const serving = await startCli(['serve', '--socket', path], 'serving on');
    try {
      // A program that sends commands and neither closes its client nor exits: it ends by itself.
      const program = `
        import { SocketClient } from ${JSON.stringify(DIST)};
        const client = new SocketClient(${JSON.stringify(path)});
        const c = await client.createChannel();
        const l = await client.register(c);
        console.log(await client.dispatch(c, l, 'n', 1));`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', program], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      // Bounded: a process still running after 20 s is stopped, and the test fails on its exit code.
      const stop = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await new Promise((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
      clearTimeout(stop);
      expect([code, stdout]).toEqual([0, 'ack\n']);
    } finally {
      await serving.close();
    }
  });
});
