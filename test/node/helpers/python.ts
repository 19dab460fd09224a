/**
 * The eric-sse peer (../python/eric_sse_peer.py): a stdlib-only reproduction of eric-sse 0.6.1's
 * SocketServer and SocketClient, to check wire compatibility in both directions.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const PEER = join(import.meta.dirname, '../python/eric_sse_peer.py');
const run = promisify(execFile);

/**
 * Starts eric-sse's server on `path`; resolves once it listens, with its shutdown (SIGTERM, as a
 * user stops it), which fails if the server left its socket file behind.
 */
export async function startPythonServer(path: string): Promise<() => Promise<void>> {
  // stderr is not shown: at shutdown asyncio reports the cancelled stream tasks, as eric-sse's server does.
  const server = spawn('python3', [PEER, 'serve', path], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    server.stdout.once('data', () => resolve());
    void exited.then((code) => reject(new Error(`the Python server exited with ${code} before it listened`)));
  });
  return async () => {
    server.kill('SIGTERM');
    await exited;
    if (existsSync(path)) throw new Error(`the Python server left ${path} behind`);
  };
}

/** What eric-sse's SocketClient got back at each step of the peer's client scenario (see the .py file). */
export type PythonClientReport = Record<string, string | string[]>;

/** Runs eric-sse's SocketClient through the peer's scenario against the server at `path`. */
export async function runPythonClient(path: string): Promise<PythonClientReport> {
  const { stdout } = await run('python3', [PEER, 'client', path]);
  return JSON.parse(stdout) as PythonClientReport;
}

/** Python's `json.dumps(value)` with its defaults (`', '` and `': '` separators, non-ASCII as `\uXXXX`). */
export function pythonJsonDumps(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.entries(value).map(([key, item]) => `${pythonString(key)}: ${pythonJsonDumps(item)}`);
    return `{${members.join(', ')}}`;
  }
  return typeof value === 'string' ? pythonString(value) : JSON.stringify(value);
}

function pythonString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u0080-\uffff]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
