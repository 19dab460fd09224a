/** What several suites start or speak: a redis-server of their own, and one command on a connection of its own. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temp dir for a suite's sockets and files, removed however the run ends (a failed run too). */
export function benchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'eric-bus-bench-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Whether `redis-server` can be run here (a suite that needs it says it is skipped otherwise). */
export function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** A redis-server on `port` with its files in `dir` (nothing saved), once it accepts connections. */
export function startRedis(port: number, dir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir]);
    child.stdout.on('data', (chunk: Buffer) => {
      if (String(chunk).includes('Ready to accept connections')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
}

/**
 * A redis-server of a suite's own, its files in a temp dir named for `name`: `stop` ends it once the
 * suite is done, and the benchmark's exit kills it (if still up) and removes the dir; undefined, once it
 * has printed that `suite` is skipped, when there is none.
 */
export async function suiteRedis(
  suite: string,
  name: string,
): Promise<{ url: string; port: number; dir: string; stop: () => void } | undefined> {
  if (!hasRedisServer()) {
    console.log(`\n${suite}: skipped (no redis-server; \`apt-get install redis-server\` to run it)`);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), `eric-bus-bench-${name}-`));
  const port = await freePort();
  const server = await startRedis(port, dir);
  process.once('exit', () => {
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const stop = () => {
    server.kill('SIGTERM');
    // Once, after a busy suite, redis-server outlived its SIGTERM, and with it the benchmark: not for long.
    setTimeout(() => server.kill('SIGKILL'), 2000).unref();
  };
  return { url: `redis://127.0.0.1:${port}`, port, dir, stop };
}

/** One command as eric-sse's client sends it: connect, write, half-close, read the reply to the end. */
export function exchange(path: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('end', () => resolve(Buffer.concat(chunks).toString()));
    socket.once('connect', () => socket.end(text));
  });
}
