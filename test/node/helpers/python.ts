/** eric-sse's side of the wire in the tests: a stdlib-only reproduction of its 0.6.1 SocketServer and SocketClient. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './socket.js';

/** The script (see its header): `serve PATH` runs the server, `client PATH` the client scenario. */
export const PYTHON_PEER = join(import.meta.dirname, '../python/eric_sse_peer.py');

/** A running Python eric-sse server on a socket in a temp dir. */
export interface PythonServer {
  path: string;
  /** Stops it with SIGTERM and removes the temp dir; resolves with whether it removed its socket file. */
  close(): Promise<boolean>;
}

/** Starts the Python server and resolves once it listens. */
export async function startPythonServer(): Promise<PythonServer> {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'py.sock');
  // stderr is not shown: at shutdown asyncio reports the cancelled stream tasks, as eric-sse's server does.
  const server = spawn('python3', [PYTHON_PEER, 'serve', path], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await new Promise<void>((resolve, reject) => {
      server.stdout.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`python server exited with ${code}`)));
    });
  } catch (error) {
    cleanup();
    throw error;
  }
  return {
    path,
    close: async () => {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
      const removed = !existsSync(path);
      cleanup();
      return removed;
    },
  };
}
