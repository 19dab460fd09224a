import { existsSync } from 'node:fs';
import { describe, expect } from 'vitest';
import { WebSocket } from 'ws';
import { VerbNotAllowed } from '../../../src/index.js';
import { runCli as run } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';

describe('eric-bus bridge / up (CLI)', () => {
  it('up starts a server and a bridge, prints the socket and the URL with its token; SIGTERM stops both', async ({
    startCli,
    bridgeClient,
  }) => {
    const up = await startCli(['up', '--port', '0'], /socket server on (\S+)\n.*bridge at (ws:\/\/\S+)/);
    const [, socketPath, url] = up.match as unknown as [string, string, string];
    expect(existsSync(socketPath)).toBe(true);
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
    const client = bridgeClient(url, { WebSocket });
    const c = await client.createChannel();
    const l = await client.register(c);
    expect(await client.dispatch(c, l, 'hi', 1)).toBe('ack');
    client.close();
    up.child.kill('SIGTERM');
    expect(await up.exited).toBe(0);
    expect(existsSync(socketPath)).toBe(false);
  });

  it('up --thread runs the bridge on a worker thread, streams included', async ({ startCli, bridgeClient }) => {
    const up = await startCli(['up', '--port', '0', '--thread'], /bridge at (ws:\/\/\S+)/);
    const url = up.match![1]!;
    const client = bridgeClient(url, { WebSocket });
    const c = await client.createChannel();
    const l = await client.register(c);
    const events = client.stream(c, l)[Symbol.asyncIterator]();
    const first = events.next();
    await client.dispatch(c, l, 'threaded', 1);
    expect((await first).value).toEqual({ event: 'threaded', retry: 5, data: 1, id: `${l}:1` });
    await events.return?.();
    client.close();
    up.child.kill('SIGTERM');
    expect(await up.exited).toBe(0);
  });

  it('bridge fronts a running socket server with the given token and verbs', async ({
    server,
    startCli,
    bridgeClient,
  }) => {
    const bridge = await startCli(
      ['bridge', '--socket', server.path, '--port', '0', '--token', 'cli-token', '--allow', 'l,w'],
      /connect to (ws:\/\/\S+)/,
    );
    const url = bridge.match![1]!;
    expect(url).toMatch(/\?token=cli-token$/);
    const client = bridgeClient(url, { WebSocket });
    await expect(client.createChannel()).rejects.toBeInstanceOf(VerbNotAllowed);
    client.close();
    bridge.child.kill('SIGINT');
    expect(await bridge.exited).toBe(0);
    expect(bridge.stderr()).toBe('');
  });

  it('bridge warns when no server listens at its socket yet, and starts anyway', async ({ startCli }) => {
    const bridge = await startCli(['bridge', '--socket', '/nonexistent/bus.sock', '--port', '0'], /connect to/);
    expect(bridge.stderr()).toContain('warning: no socket at /nonexistent/bus.sock yet');
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
