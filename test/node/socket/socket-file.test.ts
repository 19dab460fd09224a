import { spawn } from 'node:child_process';
import { existsSync, lstatSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SocketClient, SocketPathUnavailable, SocketServer } from '../../../bridge/index.js';
import { type Running, startCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/socket.js';

describe('the socket file', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  function dir(): string {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  }
  async function serve(path: string): Promise<SocketServer> {
    const server = new SocketServer(path);
    await server.listen();
    cleanups.push(() => server.shutdown());
    return server;
  }

  it('is created with mode 0600 and removed at shutdown', async () => {
    const path = join(dir(), 'bus.sock');
    const server = await serve(path);
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await server.shutdown();
    expect(existsSync(path)).toBe(false);
  });

  it('a stale socket file left by a dead server is replaced', async () => {
    const path = join(dir(), 'bus.sock');
    // A server in another process, killed with SIGKILL, cannot remove its file.
    const child = spawn(
      process.execPath,
      ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('up'))", path],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(lstatSync(path).isSocket()).toBe(true);
    await serve(path);
    expect(await new SocketClient(path).createChannel()).toMatch(/^\d+$/);
  });

  it("a live server's socket is not taken over: a clear error, and the first server keeps serving", async () => {
    const path = join(dir(), 'bus.sock');
    await serve(path);
    await expect(new SocketServer(path).listen()).rejects.toThrow(`A server is already listening on ${path}`);
    expect(await new SocketClient(path).createChannel()).toMatch(/^\d+$/);
  });

  it('a path that is not a socket is left alone', async () => {
    const path = join(dir(), 'notes.txt');
    writeFileSync(path, 'keep me');
    await expect(new SocketServer(path).listen()).rejects.toThrow(
      `${path} exists and is not a socket; not replacing it`,
    );
    expect(lstatSync(path).isFile()).toBe(true);
  });

  it('a directory that does not exist is named, in a typed error (not EACCES)', async () => {
    const base = dir();
    const missing = join(base, 'does', 'not', 'exist', 'bus.sock');
    const error = await new SocketServer(missing).listen().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SocketPathUnavailable);
    expect(error).toMatchObject({
      code: 'ERR_SOCKET_PATH_UNAVAILABLE',
      message: `Cannot create the socket ${missing}: there is no directory ${join(base, 'does', 'not', 'exist')}`,
    });
    // A file where the directory should be is no directory either.
    writeFileSync(join(base, 'file'), '');
    await expect(new SocketServer(join(base, 'file', 'bus.sock')).listen()).rejects.toThrow(
      `there is no directory ${join(base, 'file')}`,
    );
    await expect(serve(join(base, 'bus.sock'))).resolves.toBeInstanceOf(SocketServer);
  });

  it('a client of a path where nothing listens gets a clear error', async () => {
    await expect(new SocketClient(join(dir(), 'none.sock')).createChannel()).rejects.toThrow(
      /^No server listening on .*none\.sock \(ENOENT\)$/,
    );
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('%s makes `eric-bus serve` remove the file and exit 0', async (signal) => {
    const path = join(dir(), 'bus.sock');
    const running: Running = await startCli(['serve', '--socket', path], 'serving on');
    cleanups.push(running.kill);
    const client = new SocketClient(path);
    const c = await client.createChannel();
    // An open stream must not hold the shutdown up; it ends cleanly.
    const stream = client.watch(c)[Symbol.asyncIterator]().next();
    running.child.kill(signal);
    expect(await running.exited).toBe(0);
    expect(existsSync(path)).toBe(false);
    expect((await stream).done).toBe(true);
  });
});
