import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocketClient } from '../../../bridge/index.js';
import { InvalidChannelException, InvalidListenerException } from '../../../src/index.js';
import { startServer, take, tempDir } from '../helpers/socket.js';

// A stdlib-only reproduction of eric-sse 0.6.1's SocketClient and SocketServer (see its header).
const PEER = join(import.meta.dirname, '../python/eric_sse_peer.py');
const run = promisify(execFile);

describe('the Python eric-sse client against our SocketServer', () => {
  it('works unchanged: ids, acks, stream lines, error replies', async () => {
    const ctx = await startServer();
    try {
      const { stdout } = await run('python3', [PEER, 'client', ctx.path]);
      const report = JSON.parse(stdout) as Record<string, unknown>;
      expect(report.create_channel).toMatch(/^\d+$/);
      expect(report.register).toMatch(/^\d+$/);
      expect(report.dispatch).toBe('ack');
      expect(report.dispatch_none).toBe('ack');
      expect(report.broadcast).toBe('ack');
      // Python's readline keeps the newline; each line is one event. The event ids (SPEC §7) are
      // one more key, which eric-sse's client passes on with the rest of the line.
      const l = report.register as string;
      expect((report.stream as string[]).map((line) => [line.endsWith('\n'), JSON.parse(line)])).toEqual([
        [true, { event: 'hello', retry: 5, data: { n: 1, text: 'h\u00e9llo' }, id: `${l}:1` }],
        [true, { event: 'bare', retry: 5, data: null, id: `${l}:2` }],
        [true, { event: 'news', retry: 5, data: 'to all', id: `${l}:3` }],
      ]);
      expect(report.register_unknown_channel).toBe("InvalidChannelException('No channel with id 999')");
      expect(report.dispatch_unknown_listener).toBe("InvalidListenerException('Invalid listener 999')");
      expect(report.dispatch_without_type).toBe(`InvalidMessageFormat("Missing message type 't' for verb 'd'")`);
      expect(report.malformed).toBe("InvalidMessageFormat('A command is a JSON object, not a string')");
      expect(report.remove_listener).toBe('ack');
      expect(report.remove_channel).toBe('ack');
      expect(report.after_remove).toBe(
        `InvalidChannelException('No channel with id ${report.create_channel as string}')`,
      );
    } finally {
      await ctx.close();
    }
  });
});

describe('our SocketClient against the Python eric-sse server', () => {
  let path: string;
  let cleanup: () => void;
  let server: ReturnType<typeof spawn>;
  let client: SocketClient;
  beforeAll(async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    path = join(t.dir, 'py.sock');
    // stderr is not shown: at shutdown asyncio reports the cancelled stream tasks, as eric-sse's server does.
    server = spawn('python3', [PEER, 'serve', path], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((resolve, reject) => {
      server.stdout!.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`python server exited with ${code}`)));
    });
    client = new SocketClient(path);
  });
  afterAll(async () => {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
    expect(existsSync(path)).toBe(false);
    cleanup();
  });

  it('creates, registers, dispatches and broadcasts', async () => {
    const c = await client.createChannel();
    expect(c).toMatch(/^\d+$/);
    const l = await client.register(c);
    expect(l).toMatch(/^\d+$/);
    expect(await client.dispatch(c, l, 'hello', { n: 1 })).toBe('ack');
    expect(await client.dispatch(c, l, 'bare')).toBe('ack');
    expect(await client.broadcastMessage(c, 'news', 'to all')).toBe('ack');
    expect(await client.removeListener(c, l)).toBe('ack');
    expect(await client.removeChannel(c)).toBe('ack');
  });

  it('watches a channel: Python-formatted lines are yielded one per event', async () => {
    const c = await client.createChannel();
    const stream = client.watch(c)[Symbol.asyncIterator]();
    const first = stream.next();
    // The watch registers its listener when the server gets to it; broadcast until it hears.
    let heard: IteratorResult<string> | undefined;
    void first.then((r) => (heard = r));
    for (let i = 0; i < 200 && !heard; i++) {
      await client.broadcastMessage(c, 'tick', { i, text: 'h\u00e9llo' });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const line = (await first).value as string;
    expect(line).toMatch(/^\{"event": "tick", "retry": 5, "data": \{"i": \d+, "text": "h\\u00e9llo"\}\}$/);
    expect(JSON.parse(line).data.text).toBe('h\u00e9llo');
    await stream.return?.();
  });

  it("'l' streams end at once: eric-sse 0.6 streams only a running listener and cannot start one", async () => {
    const c = await client.createChannel();
    const l = await client.register(c);
    await client.dispatch(c, l, 'waiting');
    expect(await take(client.stream(c, l), 1)).toEqual([]);
  });

  it('error replies reject with typed errors', async () => {
    await expect(client.register('999')).rejects.toThrow(new InvalidChannelException('No channel with id 999'));
    const c = await client.createChannel();
    await expect(client.dispatch(c, '999', 'x')).rejects.toThrow(new InvalidListenerException('Invalid listener 999'));
    // eric-sse reports a missing key by echoing the command; parseException keeps it typed.
    const raw = await client.sendRaw({ v: 'd', c });
    expect(raw).toBe(`InvalidMessageFormat('{"v":"d","c":"${c}"}')`);
  });
});
