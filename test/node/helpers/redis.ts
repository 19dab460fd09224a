/** A real redis-server (Debian's package) for the Redis store's tests: its own port and temp dir, stopped after. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { tempDir } from './socket.js';

/** Whether `redis-server` can be run here (CI installs it; a developer's machine may lack it). */
export const hasRedisServer = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    // In CI a missing redis-server is a failure, not a reason to skip.
    if (process.env.CI) throw new Error('redis-server is not installed: .ci/run installs it');
    return false;
  }
})();

/** A running redis-server; `restart` stops it and starts it again on the same port and data dir. */
export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** Stops it as an admin would (SHUTDOWN: the append-only file is flushed), then starts it again. */
  restart(): Promise<void>;
  /** Stops it (SIGTERM), waiting for it to exit. */
  stop(): Promise<void>;
  /** Starts it again after {@link stop}. */
  start(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open, commands wait unanswered until {@link thaw}. */
  freeze(): void;
  /** Lets a frozen server go on (SIGCONT): it answers the commands that waited. */
  thaw(): void;
  /** Stops it and removes its data dir. */
  close(): Promise<void>;
}

/** A port free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function launch(port: number, dir: string, extra: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir, ...extra],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.resume();
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
}

function stopped(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/**
 * Starts redis-server on a free port with a fresh data dir (append-only file on, no snapshots),
 * with `extra` arguments (`['--requirepass', 'pw']`).
 */
export async function startRedis(extra: string[] = []): Promise<RedisServer> {
  const { dir, cleanup } = tempDir();
  let port = 0;
  let child: ChildProcess | undefined;
  // Another process may take the free port before redis-server binds it: a few tries.
  for (let attempt = 0; child === undefined; attempt++) {
    port = await freePort();
    try {
      child = await launch(port, dir, extra);
    } catch (error) {
      if (attempt >= 4) {
        cleanup();
        throw error;
      }
    }
  }
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir: join(dir),
    stop: () => stopped(child),
    start: async () => {
      child = await launch(port, dir, extra);
    },
    restart: async () => {
      await server.stop();
      await server.start();
    },
    freeze: () => void child?.kill('SIGSTOP'),
    thaw: () => void child?.kill('SIGCONT'),
    close: async () => {
      child?.kill('SIGCONT');
      await stopped(child);
      cleanup();
    },
  };
  return server;
}

/** One redis-server (`extra`: more arguments) for the calling `describe`'s tests, started before and stopped after. */
export function redisForTests(extra: string[] = []): () => RedisServer {
  let redis: RedisServer | undefined;
  beforeAll(async () => {
    redis = await startRedis(extra);
  });
  afterAll(async () => {
    await redis?.close();
  });
  return () => {
    if (!redis) throw new Error('redis-server is not running');
    return redis;
  };
}
