import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { BridgeClient, VerbNotAllowed } from '../../src/index.js';
import { startServer } from './socket-helpers.js';

// The built CLI (`npm test` builds dist/ first), run with plain node as the bin entry is.
const cli = join(import.meta.dirname, '../../dist/bridge/cli.js');

/** Starts the CLI and resolves with its stdout so far once `pattern` matches it. */
function startCli(args: string[], pattern: RegExp): { child: ChildProcess; match: Promise<RegExpExecArray> } {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const match = new Promise<RegExpExecArray>((resolve, reject) => {
    let text = '';
    createInterface({ input: child.stdout! }).on('line', (line) => {
      text += line + '\n';
      const found = pattern.exec(text);
      if (found) resolve(found);
    });
    child.once('exit', (code) => reject(new Error(`CLI exited with ${code} before printing ${pattern}`)));
  });
  return { child, match };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('eric-bus bridge / up (CLI)', () => {
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
    }
  });

  it('up starts a server and a bridge, prints the socket and the URL with its token, and SIGTERM stops both cleanly', async () => {
    const { child, match } = startCli(['up', '--port', '0'], /socket server on (\S+)\n.*bridge at (ws:\/\/\S+)/);
    children.push(child);
    const [, socketPath, url] = (await match) as unknown as [string, string, string];
    expect(existsSync(socketPath)).toBe(true);
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
    const client = new BridgeClient(url, { WebSocket });
    const c = await client.createChannel();
    const l = await client.register(c);
    expect(await client.dispatch(c, l, 'hi', 1)).toBe('ack');
    client.close();
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(existsSync(socketPath)).toBe(false);
  });

  it('up --thread runs the bridge on a worker thread, streams included', async () => {
    const { child, match } = startCli(['up', '--port', '0', '--thread'], /bridge at (ws:\/\/\S+)/);
    children.push(child);
    const url = (await match)[1]!;
    const client = new BridgeClient(url, { WebSocket });
    const c = await client.createChannel();
    const l = await client.register(c);
    const events = client.stream(c, l)[Symbol.asyncIterator]();
    const first = events.next();
    await client.dispatch(c, l, 'threaded', 1);
    expect((await first).value).toEqual({ event: 'threaded', retry: 5, data: 1 });
    await events.return?.();
    client.close();
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });

  it('bridge fronts a running socket server with the given token and verbs', async () => {
    const backend = await startServer();
    try {
      const { child, match } = startCli(['bridge', '--socket', backend.path, '--port', '0', '--token', 'cli-token', '--allow', 'l,w'], /connect to (ws:\/\/\S+)/);
      children.push(child);
      const url = (await match)[1]!;
      expect(url).toMatch(/\?token=cli-token$/);
      const client = new BridgeClient(url, { WebSocket });
      await expect(client.createChannel()).rejects.toBeInstanceOf(VerbNotAllowed);
      client.close();
      child.kill('SIGINT');
      expect(await exited(child)).toBe(0);
    } finally {
      await backend.close();
    }
  });

  it('rejects bad flags with a one-line message and a non-zero exit', async () => {
    const missing = await run(['bridge', '--port', '0']);
    expect(missing.code).not.toBe(0);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--socket is required/);
    const badVerb = await run(['up', '--allow', 'l,zz']);
    expect(badVerb.code).not.toBe(0);
    expect(badVerb.stderr).toMatch(/unknown verb\(s\) zz/);
    const badPort = await run(['up', '--port', 'http']);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toMatch(/--port takes a port number/);
    const help = await run(['bridge', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--max-streams N/);
  });
});
