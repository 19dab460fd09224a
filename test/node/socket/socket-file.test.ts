import { spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, onTestFinished } from 'vitest';
import { SocketClient, SocketPathUnavailable, SocketServer } from '../../../bridge/index.js';
import { until } from '../helpers/async.js';
import { it } from '../helpers/fixtures.js';

describe('the socket file', () => {
  /** A server on `path`, shut down after the test. */
  async function serve(path: string): Promise<SocketServer> {
    const server = new SocketServer(path);
    await server.listen();
    onTestFinished(() => server.shutdown());
    return server;
  }

  it('is created with mode 0600 and removed at shutdown', async ({ dir }) => {
    const path = join(dir, 'bus.sock');
    const server = await serve(path);
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await server.shutdown();
    expect(existsSync(path)).toBe(false);
  });

  it('a stale socket file left by a dead server is replaced', async ({ dir }) => {
    const path = join(dir, 'bus.sock');
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

  it("a live server's socket is not taken over: a clear error, and the first server keeps serving", async ({ dir }) => {
    const path = join(dir, 'bus.sock');
    await serve(path);
    await expect(new SocketServer(path).listen()).rejects.toThrow(`A server is already listening on ${path}`);
    expect(await new SocketClient(path).createChannel()).toMatch(/^\d+$/);
  });

  it('a path that is not a socket is left alone', async ({ dir }) => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'keep me');
    await expect(new SocketServer(path).listen()).rejects.toThrow(
      `${path} exists and is not a socket; not replacing it`,
    );
    expect(lstatSync(path).isFile()).toBe(true);
  });

  it('a directory that does not exist is named, in a typed error (not EACCES)', async ({ dir }) => {
    const missing = join(dir, 'does', 'not', 'exist', 'bus.sock');
    const error = await new SocketServer(missing).listen().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SocketPathUnavailable);
    expect(error).toMatchObject({
      code: 'ERR_SOCKET_PATH_UNAVAILABLE',
      message: `Cannot create the socket ${missing}: there is no directory ${join(dir, 'does', 'not', 'exist')}`,
    });
    // A file where the directory should be is no directory either.
    writeFileSync(join(dir, 'file'), '');
    await expect(new SocketServer(join(dir, 'file', 'bus.sock')).listen()).rejects.toThrow(
      `there is no directory ${join(dir, 'file')}`,
    );
    await expect(serve(join(dir, 'bus.sock'))).resolves.toBeInstanceOf(SocketServer);
  });

  it('a missing directory whose parent exists is made private (0700); an existing one is left as it is', async ({
    dir,
  }) => {
    const path = join(dir, 'eric-bus', 'bus.sock');
    const server = await serve(path);
    expect(statSync(join(dir, 'eric-bus')).mode & 0o777).toBe(0o700);
    expect(await new SocketClient(path).createChannel()).toMatch(/^\d+$/);
    await server.shutdown();
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o755);
    await serve(join(shared, 'bus.sock'));
    expect(statSync(shared).mode & 0o777).toBe(0o755);
  });

  it("`eric-bus serve` warns when other users can create files in the socket's directory", async ({
    dir,
    startCli,
  }) => {
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const running = await startCli(['serve', '--socket', join(shared, 'bus.sock')], 'serving on');
    await until(() => running.stderr().includes('warning'), 'the warning');
    expect(running.stderr()).toContain(`warning: other users can create files in ${shared}`);
  });

  it('a client of a path where nothing listens gets a clear error', async ({ dir }) => {
    await expect(new SocketClient(join(dir, 'none.sock')).createChannel()).rejects.toThrow(
      /^No server listening on .*none\.sock \(ENOENT\)$/,
    );
  });

  it.for(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    '%s makes `eric-bus serve` remove the file and exit 0',
    async (signal, { dir, startCli }) => {
      const path = join(dir, 'bus.sock');
      const running = await startCli(['serve', '--socket', path], 'serving on');
      const client = new SocketClient(path);
      const c = await client.createChannel();
      // An open stream must not hold the shutdown up; it ends cleanly.
      const stream = client.watch(c)[Symbol.asyncIterator]().next();
      running.child.kill(signal);
      expect(await running.exited).toBe(0);
      expect(existsSync(path)).toBe(false);
      expect((await stream).done).toBe(true);
    },
  );
});
