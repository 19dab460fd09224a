import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { WebSocket } from 'ws';
import { LimitExceeded, VerbNotAllowed } from '../../../src/index.js';
import { FrameClient } from '../helpers/bridge.js';
import { runCli as run } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';
import { holdPort, tempDir } from '../helpers/socket.js';
import { selfSignedCertificate } from '../helpers/tls.js';

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

  it.for(['up', 'up --thread'])(
    '%s lives through frames nesting 5,000 and 50,000 deep',
    async (command, { startCli }) => {
      const up = await startCli([...command.split(' '), '--port', '0'], /bridge at (ws:\/\/\S+)/);
      const ws = await FrameClient.open(up.match![1]!);
      const c = ((await ws.call('c', { v: 'c' })) as { ok: string }).ok;
      for (const depth of [5000, 50_000]) {
        ws.send(`{"id":${depth},"v":"b","c":"${c}","t":"x","p":${'['.repeat(depth)}${']'.repeat(depth)}}`);
        expect(await ws.next(depth)).toEqual({
          id: depth,
          error: "InvalidMessageFormat('Frame nests deeper than 1000 levels of arrays and objects')",
        });
      }
      // The process, its bridge and its server all still serve, a new WebSocket too.
      expect(await ws.call('again', { v: 'c' })).toEqual({ id: 'again', ok: expect.stringMatching(/^\d+$/) });
      await ws.close();
      const another = await FrameClient.open(up.match![1]!);
      expect(await another.call(1, { v: 'c' })).toEqual({ id: 1, ok: expect.stringMatching(/^\d+$/) });
      await another.close();
      expect(up.child.exitCode).toBe(null);
    },
  );

  it.for([
    ['--token-file', (file: string) => ({ args: ['--token-file', file], env: {} })],
    ['ERIC_BUS_TOKEN', () => ({ args: [], env: { ERIC_BUS_TOKEN: 'from-a-secret-place' } })],
  ] as const)(
    'the token can come from %s, out of the command line',
    async ([, how], { dir, startCli, bridgeClient }) => {
      const file = join(dir, 'token');
      writeFileSync(file, 'from-a-secret-place\n', { mode: 0o600 });
      const { args, env } = how(file);
      const up = await startCli(['up', '--port', '0', ...args], /bridge at (ws:\/\/\S+)/, { env });
      expect(up.match![1]).toMatch(/\?token=from-a-secret-place$/);
      // Other local users can read a process's command line (not its environment).
      expect(readFileSync(`/proc/${up.child.pid}/cmdline`, 'utf8')).not.toContain('from-a-secret-place');
      expect(await bridgeClient(up.match![1]!, { WebSocket }).createChannel()).toMatch(/^\d+$/);
    },
  );

  it('token flags: --token-file and --token are exclusive; an unreadable or empty file is a usage error', async ({
    dir,
  }) => {
    const both = await run(['bridge', '--socket', 'x', '--token', 'a', '--token-file', 'b']);
    expect([both.code, both.stderr.split('\n')[0]]).toEqual([
      2,
      'eric-bus bridge: --token and --token-file both give the token: keep one of them',
    ]);
    const missing = await run(['bridge', '--socket', 'x', '--token-file', join(dir, 'none')]);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/cannot read --token-file .*none/)]);
    writeFileSync(join(dir, 'empty'), '\n');
    const empty = await run(['bridge', '--socket', 'x', '--token-file', join(dir, 'empty')]);
    expect([empty.code, empty.stderr]).toEqual([2, expect.stringMatching(/--token-file gives an empty token/)]);
    for (const name of ['bridge', 'up']) {
      const help = await run([name, '--help']);
      expect(help.stdout).toMatch(/--token-file FILE +read the shared token from FILE/);
      expect(help.stdout).toContain('ERIC_BUS_TOKEN');
    }
  });

  it.for([
    ['--token', (_file: string) => ['--token', 'from-the-flag']],
    ['--token-file', (file: string) => ['--token-file', file]],
  ] as const)('%s wins over ERIC_BUS_TOKEN, as --help says', async ([, flags], { dir, startCli }) => {
    const file = join(dir, 'token');
    writeFileSync(file, 'from-the-flag\n', { mode: 0o600 });
    const env = { ERIC_BUS_TOKEN: 'from-the-environment' };
    const up = await startCli(['up', '--port', '0', ...flags(file)], /bridge at (ws:\/\/\S+)/, { env });
    expect(up.match![1]).toMatch(/\?token=from-the-flag$/);
    for (const name of ['bridge', 'up'])
      expect((await run([name, '--help'])).stdout).toMatch(
        /^ +either flag wins over ERIC_BUS_TOKEN; the two flags together are refused$/m,
      );
  });

  it.for(
    (['--token-file', '--tls-key'] as const).flatMap((flag) =>
      (
        [
          ['0644', true],
          ['0640', true],
          ['0600', false],
        ] as const
      ).map(([mode, warned]) => [flag, mode, warned] as const),
    ),
  )('a %s of mode %s: warned about when others may read it (%s)', async ([flag, mode, warned], { dir, startCli }) => {
    // The secret file under test, and what else the flag needs (a key goes with its certificate).
    let file: string;
    let flags: string[];
    let cleanup = () => {};
    if (flag === '--token-file') {
      file = join(dir, 'token');
      writeFileSync(file, 'a-token\n');
      flags = ['--token-file', file];
    } else {
      const certificate = selfSignedCertificate();
      cleanup = certificate.cleanup;
      file = certificate.keyFile;
      flags = ['--tls-cert', certificate.certFile, '--tls-key', file];
    }
    try {
      chmodSync(file, Number.parseInt(mode, 8));
      const up = await startCli(['up', '--port', '0', ...flags], /bridge at/);
      // All of stderr: the process is stopped and its pipes read to the end.
      const closed = new Promise((resolve) => up.child.once('close', resolve));
      up.child.kill('SIGTERM');
      await closed;
      const warning = `eric-bus up: warning: ${flag} ${file} is open to other users (mode ${mode}); chmod 600 ${file}`;
      expect(up.stderr()).toBe(warned ? `${warning}\n` : '');
    } finally {
      cleanup();
    }
  });

  it('the usage lines of bridge and up name --token and --token-file', async () => {
    for (const name of ['bridge', 'up']) {
      const { stdout } = await run([name, '--help']);
      const usage = stdout.slice(0, stdout.indexOf('\n\n'));
      expect(usage).toContain('[--token T | --token-file FILE]');
    }
  });

  it('up --max-channels / --max-listeners cap the server: past them, a typed LimitExceeded', async ({
    startCli,
    bridgeClient,
  }) => {
    const up = await startCli(
      ['up', '--port', '0', '--max-channels', '1', '--max-listeners', '1'],
      /bridge at (ws:\S+)/,
    );
    const client = bridgeClient(up.match![1]!, { WebSocket });
    const c = await client.createChannel();
    await expect(client.createChannel()).rejects.toBeInstanceOf(LimitExceeded);
    await client.register(c);
    await expect(client.register(c)).rejects.toThrow(
      "Too many listeners: this server's channels hold at most 1 in all",
    );
    expect((await run(['up', '--max-channels', '0'])).stderr).toMatch(/--max-channels takes a positive integer/);
  });

  it('bridge warns when no server listens at its socket yet, and starts anyway', async ({ startCli }) => {
    const bridge = await startCli(['bridge', '--socket', '/nonexistent/bus.sock', '--port', '0'], /connect to/);
    expect(bridge.stderr()).toContain('warning: no socket at /nonexistent/bus.sock yet');
  });

  it.for(['SIGHUP', 'SIGINT'] as const)(
    'up stops cleanly on %s (the terminal closing, Ctrl-C)',
    async (signal, { startCli }) => {
      const up = await startCli(['up', '--port', '0'], /socket server on (\S+)\n.*bridge at/);
      const socketPath = up.match![1]!;
      up.child.kill(signal);
      expect(await up.exited).toBe(0);
      expect(existsSync(join(socketPath, '..'))).toBe(false);
    },
  );

  it('a port that is taken is one line naming it and suggesting --port 0, exit 2; nothing is left behind', async ({
    dir,
  }) => {
    const held = await holdPort();
    try {
      for (const args of [['up'], ['up', '--thread'], ['bridge']]) {
        const socketPath = join(dir, 'bus.sock');
        const { code, stdout, stderr } = await run([...args, '--socket', socketPath, '--port', String(held.port)]);
        expect(code).toBe(2);
        expect(stdout).toBe('');
        expect(stderr.split('\n').filter((line) => !line.includes('warning: no socket'))).toEqual([
          `eric-bus ${args[0]}: port ${held.port} on 127.0.0.1 is already in use; ` +
            'choose another with --port N, or --port 0 for any free one',
          '',
        ]);
        // `up` had started its socket server before the bridge failed: it is shut and its file gone.
        expect(readdirSync(dir)).toEqual([]);
      }
      // With the default socket, `up` removes the private temp dir it made.
      const tmp = tempDir();
      try {
        const failed = await run(['up', '--port', String(held.port)], { env: { TMPDIR: tmp.dir } });
        expect(failed.code).toBe(2);
        expect(readdirSync(tmp.dir)).toEqual([]);
      } finally {
        tmp.cleanup();
      }
    } finally {
      await held.close();
    }
  }, 120_000); // many CLI processes, each a Node start-up on a busy machine

  it('--tls-cert and --tls-key: up serves wss://, and send / listen --url reach it (the CA trusted)', async ({
    startCli,
  }) => {
    const certificate = selfSignedCertificate();
    const env = { NODE_EXTRA_CA_CERTS: certificate.certFile };
    try {
      const flags = ['--tls-cert', certificate.certFile, '--tls-key', certificate.keyFile];
      for (const thread of [[], ['--thread']]) {
        const up = await startCli(['up', '--port', '0', ...flags, ...thread], /bridge at (\S+)/);
        const url = up.match![1]!;
        expect(url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/\?token=/);
        const channel = await run(['send', '--url', url, 'create-channel'], { env });
        expect(channel).toMatchObject({ code: 0, stderr: '' });
        const c = channel.stdout.trim();
        const l = (await run(['send', '--url', url, 'add-listener', c], { env })).stdout.trim();
        expect((await run(['send', '--url', url, 'dispatch', c, l, 'secret', '{"n": 1}'], { env })).stdout).toBe(
          'ack\n',
        );
        const heard = await run(['listen', '--url', url, c, l, '--count', '1'], { env });
        expect(heard).toEqual({
          code: 0,
          stdout: `{"event":"secret","retry":5,"data":{"n":1},"id":"${l}:1"}\n`,
          stderr: '',
        });
        // Without trusting the certificate, the client refuses the bridge.
        const untrusted = await run(['send', '--url', url, 'create-channel']);
        expect(untrusted.code).toBe(1);
        expect(untrusted.stderr).toMatch(/^ConnectionLost\(.*\) \(last error: self-signed certificate\)\n$/);
        up.child.kill('SIGTERM');
        expect(await up.exited).toBe(0);
      }
    } finally {
      certificate.cleanup();
    }
  }, 120_000); // many CLI processes, each a Node start-up on a busy machine

  it('TLS flags that cannot work are one line, exit 2, before anything starts', async () => {
    const certificate = selfSignedCertificate();
    try {
      const cases: [string[], string][] = [
        [['--tls-cert', certificate.certFile], '--tls-cert and --tls-key go together'],
        [['--tls-key', certificate.keyFile, '--tls-cert', '/no/cert.pem'], 'cannot read --tls-cert /no/cert.pem'],
        [
          ['--tls-cert', certificate.certFile, '--tls-key', certificate.certFile],
          `--tls-cert ${certificate.certFile} and --tls-key ${certificate.certFile} are not a certificate and its key`,
        ],
      ];
      for (const [flags, message] of cases) {
        const { code, stdout, stderr } = await run(['up', '--port', '0', ...flags]);
        expect(code).toBe(2);
        expect(stdout).toBe('');
        expect(stderr).toMatch(new RegExp(`^eric-bus up: ${message.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
        expect(stderr.trimEnd().split('\n').length).toBeLessThanOrEqual(2);
      }
    } finally {
      certificate.cleanup();
    }
  });

  it('send and listen --url drive a backend through its bridge, as with --socket', async ({ startCli }) => {
    const up = await startCli(['up', '--port', '0'], /socket server on (\S+)\n.*bridge at (ws:\/\/\S+)/);
    const [, socketPath, url] = up.match as unknown as [string, string, string];
    const c = (await run(['send', '--url', url, 'create-channel'])).stdout.trim();
    expect(c).toMatch(/^\d+$/);
    const l = (await run(['send', '--url', url, 'add-listener', c])).stdout.trim();
    for (let n = 1; n <= 3; n++)
      expect((await run(['send', '--url', url, 'dispatch', c, l, 'n', String(n)])).stdout).toBe('ack\n');
    // The same channel through the socket: one server behind both.
    expect((await run(['send', '--socket', socketPath, 'broadcast', c, 'last', '"via socket"'])).stdout).toBe('ack\n');
    const heard = await run(['listen', '--url', url, c, l, '--count', '4']);
    // The same lines as the socket server writes them (key order, compact JSON).
    expect(heard).toEqual({
      code: 0,
      stdout: [
        `{"event":"n","retry":5,"data":1,"id":"${l}:1"}`,
        `{"event":"n","retry":5,"data":2,"id":"${l}:2"}`,
        `{"event":"n","retry":5,"data":3,"id":"${l}:3"}`,
        `{"event":"last","retry":5,"data":"via socket","id":"${l}:4"}`,
        '',
      ].join('\n'),
      stderr: '',
    });
    expect((await run(['send', '--url', url, 'raw', '{"v": "rc", "c": "' + c + '"}'])).stdout).toBe('ack\n');

    const missing = await run(['send', '--url', url, 'add-listener', c]);
    expect(missing).toEqual({ code: 1, stdout: '', stderr: `InvalidChannelException('No channel with id ${c}')\n` });
    const raw = await run(['send', '--url', url, 'raw', '{"v": "x"}']);
    expect(raw.code).toBe(1);
    expect(raw.stderr).toMatch(/^InvalidMessageFormat\(.*x.*\)\n$/);
    const array = await run(['send', '--url', url, 'raw', '[1]']);
    expect(array.code).toBe(2);
    expect(array.stderr).toMatch(/raw through --url takes a JSON object/);

    const wrongToken = new URL(url);
    wrongToken.searchParams.set('token', 'wrong');
    const refused = await run(['send', '--url', wrongToken.href, 'create-channel']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("BridgeRefused('The bridge refused the connection: HTTP 401 (wrong token)')\n");
  }, 120_000); // many CLI processes, each a Node start-up on a busy machine

  it('send --url to a bridge that is not there gives up after a few attempts, exit 1', async () => {
    const held = await holdPort();
    const port = held.port;
    await held.close(); // free now, and nothing listens there
    const { code, stdout, stderr } = await run(['send', '--url', `ws://127.0.0.1:${port}/?token=t`, 'create-channel']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `ConnectionLost('Lost the bridge at ws://127.0.0.1:${port}/?token=… and gave up reconnecting')` +
        ` (last error: connect ECONNREFUSED 127.0.0.1:${port})\n`,
    );
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
