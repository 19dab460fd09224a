import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { SocketClient } from '../../../bridge/index.js';
import { pokeUntil, take } from '../helpers/async.js';
import { runCli, startCli } from '../helpers/cli.js';
import { it as base } from '../helpers/fixtures.js';
import { rawExchange, tempDir } from '../helpers/socket.js';

/** One `eric-bus serve` for the file's scenarios, stopped with SIGTERM at the end. */
// biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern.
const it = base.extend('serving', { scope: 'file' }, async ({}, { onCleanup }) => {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'bus.sock');
  const running = await startCli(['serve', '--socket', path], 'serving on');
  onCleanup(async () => {
    running.child.kill('SIGTERM');
    await running.exited;
    cleanup();
  });
  return { path, running };
});

describe('eric-bus serve / send / listen', () => {
  it('--help lists each command with its summary', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {2}serve +serve the eric-sse socket protocol on a Unix socket$/m);
    expect(stdout).toMatch(/^ {2}send +send one command/m);
    expect(stdout).toMatch(/^ {2}listen +stream a listener's events/m);
  });

  it('--help lists -h, --help and --version; --version prints the package version', async () => {
    const { stdout } = await runCli(['-h']);
    expect(stdout).toMatch(/^ {2}-h, --help +show this help$/m);
    expect(stdout).toMatch(/^ {2}--version +print the version of eric-bus$/m);
    const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8'));
    expect(await runCli(['--version'])).toEqual({ code: 0, stdout: `${manifest.version}\n`, stderr: '' });
  });

  it("the package's bin runs the built command; in a clone not yet built it says how to build it", async () => {
    const bin = join(import.meta.dirname, '../../../bin/eric-bus.js');
    const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8'));
    expect(manifest.bin).toEqual({ 'eric-bus': 'bin/eric-bus.js' });
    expect(await runCli(['--version'], { script: bin })).toEqual({
      code: 0,
      stdout: `${manifest.version}\n`,
      stderr: '',
    });
    const { dir, cleanup } = tempDir();
    try {
      mkdirSync(join(dir, 'bin'));
      copyFileSync(bin, join(dir, 'bin/eric-bus.js'));
      expect(await runCli(['--help'], { script: join(dir, 'bin/eric-bus.js') })).toEqual({
        code: 1,
        stdout: '',
        stderr: 'eric-bus: the command is not built in this clone; run `npm run build:node` first\n',
      });
    } finally {
      cleanup();
    }
  });

  it.each([
    ['serve', 'serve --socket PATH'],
    ['send', 'send (--socket PATH | --url URL) ACTION'],
    ['listen', 'listen (--socket PATH | --url URL) CHANNEL'],
    ['bridge', 'bridge --socket PATH'],
    ['up', 'up [--socket PATH]'],
  ])('%s --help (and -h) prints its usage, which lists -h, --help', async (name, synopsis) => {
    for (const flag of ['--help', '-h']) {
      const { code, stdout } = await runCli([name, flag]);
      expect(code).toBe(0);
      expect(stdout).toContain(`Usage: eric-bus ${synopsis}`);
      expect(stdout).toMatch(/^ {2}-h, --help +show this help$/m);
    }
  });

  it('serve prints where it listens', ({ serving }) => {
    const { path, running } = serving;
    expect(running.stdout()).toBe(`eric-bus: serving on ${path}\n`);
  });

  it('creates, dispatches, broadcasts and streams from the terminal', async ({ serving }) => {
    const { path } = serving;
    const channel = (await runCli(['send', '--socket', path, 'create-channel'])).stdout.trim();
    const listener = (await runCli(['send', '--socket', path, 'add-listener', channel])).stdout.trim();
    expect(channel).toMatch(/^\d+$/);
    expect(listener).toMatch(/^\d+$/);
    expect((await runCli(['send', '--socket', path, 'dispatch', channel, listener, 'hello', '{"n": 1}'])).stdout).toBe(
      'ack\n',
    );
    expect((await runCli(['send', '--socket', path, 'broadcast', channel, 'news', 'plain words'])).stdout).toBe(
      'ack\n',
    );
    const listened = await runCli(['listen', '--socket', path, channel, listener, '--count', '2']);
    expect(listened.code).toBe(0);
    expect(listened.stdout).toBe(
      `{"event":"hello","retry":5,"data":{"n":1},"id":"${listener}:1"}\n` +
        `{"event":"news","retry":5,"data":"plain words","id":"${listener}:2"}\n`,
    );
  });

  it('listen without a listener watches the channel until it is removed', async ({ serving, startCli }) => {
    const { path } = serving;
    const channel = (await runCli(['send', '--socket', path, 'create-channel'])).stdout.trim();
    const watching = await pokeUntil(
      startCli(['listen', '--socket', path, channel], '"event":"tick"'),
      (i) => runCli(['send', '--socket', path, 'broadcast', channel, 'tick', String(i)]),
      'the watch to hear a broadcast',
    );
    expect((await runCli(['send', '--socket', path, 'remove-channel', channel])).stdout).toBe('ack\n');
    expect(await watching.exited).toBe(0);
    expect(JSON.parse(watching.stdout().trim().split('\n').at(-1)!)).toEqual({
      event: '_eric_channel_closed',
      retry: 5,
      data: null,
      id: expect.any(String),
    });
  });

  it('serve --history N keeps the last N events of each listener for resuming', async ({ dir, startCli }) => {
    const small = join(dir, 'small.sock');
    await startCli(
      ['serve', '--socket', small, '--history', '2', '--history-bytes', '0', '--watch-grace', '0'],
      'serving on',
    );
    const client = new SocketClient(small);
    const c = await client.createChannel();
    const l = await client.register(c);
    for (let n = 1; n <= 4; n++) await client.dispatch(c, l, 'n', n);
    const seen = (await take(client.stream(c, l), 4)).map((line) => JSON.parse(line) as { id: string });
    const resumed = await take(client.stream(c, l, { lastEventId: seen[0]!.id }), 3);
    expect(resumed.map((line) => JSON.parse(line).data)).toEqual([{ after: `${l}:1` }, 3, 4]);
  });

  it('serve --max-channels / --max-listeners: past them, a LimitExceeded reply (exit 1)', async ({ dir, startCli }) => {
    const capped = join(dir, 'capped.sock');
    await startCli(['serve', '--socket', capped, '--max-channels', '1', '--max-listeners', '2'], 'serving on');
    const c = (await runCli(['send', '--socket', capped, 'create-channel'])).stdout.trim();
    const refused = await runCli(['send', '--socket', capped, 'create-channel']);
    expect([refused.code, refused.stderr]).toEqual([
      1,
      "LimitExceeded('Too many channels: this server holds at most 1')\n",
    ]);
    for (let i = 0; i < 2; i++) expect((await runCli(['send', '--socket', capped, 'add-listener', c])).code).toBe(0);
    const full = await runCli(['send', '--socket', capped, 'add-listener', c]);
    expect(full.stderr).toBe(`LimitExceeded("Too many listeners: this server's channels hold at most 2 in all")\n`);
    expect((await runCli(['serve', '--help'])).stdout).toMatch(/--max-channels N[\s\S]*--max-listeners N/);
  });

  it('an error reply goes to stderr in its wire form, exit 1', async ({ serving }) => {
    const { path } = serving;
    const { code, stdout, stderr } = await runCli(['send', '--socket', path, 'add-listener', '424242']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe("InvalidChannelException('No channel with id 424242')\n");
  });

  it('raw sends any JSON; its error reply goes to stderr with exit 1, like any other', async ({ serving }) => {
    const { path } = serving;
    const created = await runCli(['send', '--socket', path, 'raw', '{"v": "c"}']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^\d+\n$/);
    const refused = await runCli(['send', '--socket', path, 'raw', '{"v": "x"}']);
    expect(refused).toEqual({
      code: 1,
      stdout: '',
      stderr: `InvalidMessageFormat('Unknown verb "x" (expected one of c, r, d, b, l, w, rl, rc, rs, hello, own)')\n`,
    });
    const notAnObject = await runCli(['send', '--socket', path, 'raw', '[1, 2]']);
    expect(notAnObject.code).toBe(1);
    expect(notAnObject.stderr).toMatch(/^InvalidMessageFormat\(.*\)\n$/);
  });

  it('usage mistakes are one line and exit 2', async ({ serving }) => {
    const { path } = serving;
    for (const args of [
      ['send', 'create-channel'],
      ['send', '--socket', path, 'fly'],
      ['send', '--socket', path, 'raw', '{"v": "c"'],
      ['listen', '--socket', path],
      ['serve', '--bogus'],
      ['serve', '--socket', path, '--history=-1'],
      ['serve', '--socket', path, '--watch-grace', 'soon'],
      ['send', '--socket', path, '--url', 'ws://127.0.0.1:1/', 'create-channel'],
      ['send', '--url', 'not a url', 'create-channel'],
      ['listen', '--socket'],
      ['serve', '--socket', path, '--verbose=yes'],
      ['serve', '--socket', path, '--watch-grace', String(2 ** 31)],
    ]) {
      const { code, stderr } = await runCli(args);
      expect(code).toBe(2);
      expect(stderr).toMatch(/^eric-bus \w+: .+\nRun 'eric-bus \w+ --help' for usage\.\n$/);
    }
  }, 120_000); // many CLI processes, each a Node start-up on a busy machine

  it('an unknown option is named, with the option it is closest to', async ({ serving }) => {
    const { path } = serving;
    const cases: [string[], string][] = [
      [['send', '--sock', path, 'create-channel'], 'unknown option --sock (did you mean --socket?)'],
      [['listen', '--sokcet', path, '1'], 'unknown option --sokcet (did you mean --socket?)'],
      [['up', '--max-stream', '3'], 'unknown option --max-stream (did you mean --max-streams?)'],
      [['serve', '--hepl'], 'unknown option --hepl (did you mean --help?)'],
      [['serve', '--frobnicate'], 'unknown option --frobnicate'],
      [['send', '-x'], 'unknown option -x'],
    ];
    for (const [args, message] of cases) {
      const { code, stdout, stderr } = await runCli(args);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      const name = args[0];
      expect(stderr).toBe(`eric-bus ${name}: ${message}\nRun 'eric-bus ${name} --help' for usage.\n`);
    }
  }, 120_000); // many CLI processes, each a Node start-up on a busy machine

  it('serve in a directory that does not exist says so, exit 2', async ({ dir }) => {
    const missing = join(dir, 'no', 'such', 'dir', 'bus.sock');
    const { code, stdout, stderr } = await runCli(['serve', '--socket', missing]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `eric-bus serve: Cannot create the socket ${missing}: there is no directory ${join(missing, '..')}\n`,
    );
  });

  it('serve on the socket of a live server refuses in one line, exit 2, and leaves it serving', async ({ serving }) => {
    const { path } = serving;
    const { code, stderr } = await runCli(['serve', '--socket', path]);
    expect(code).toBe(2);
    expect(stderr).toBe(`eric-bus serve: A server is already listening on ${path}\n`);
    expect((await runCli(['send', '--socket', path, 'create-channel'])).code).toBe(0);
  });

  it('a missing or unknown command is one line on stderr and exit 2', async () => {
    for (const args of [[], ['fly']]) {
      const { code, stdout, stderr } = await runCli(args);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^eric-bus: .+; 'eric-bus --help' lists them\n$/);
    }
  });

  it("'-h' after '--' is a value, not a request for help", async ({ serving }) => {
    const { path } = serving;
    const c = (await runCli(['send', '--socket', path, 'create-channel'])).stdout.trim();
    const l = (await runCli(['send', '--socket', path, 'add-listener', c])).stdout.trim();
    const sent = await runCli(['send', '--socket', path, 'dispatch', c, l, 'note', '--', '-h']);
    expect(sent).toMatchObject({ code: 0, stdout: 'ack\n' });
    const heard = await runCli(['listen', '--socket', path, c, l, '--count', '1']);
    expect(JSON.parse(heard.stdout)).toEqual({ event: 'note', retry: 5, data: '-h', id: `${l}:1` });
  });

  it('the server is quiet: client mistakes print nothing, and never a stack trace', async ({ serving }) => {
    const { path, running } = serving;
    await rawExchange(path, '{"v": ');
    await rawExchange(path, '[]');
    await runCli(['send', '--socket', path, 'add-listener', '424242']);
    expect(running.stdout()).toBe(`eric-bus: serving on ${path}\n`);
    expect(running.stderr()).toBe('');
  });
});

describe('eric-bus serve --verbose', () => {
  it('logs commands and client errors on stderr, one line each, no stack traces', async ({ dir, startCli }) => {
    const path = join(dir, 'bus.sock');
    const running = await startCli(['serve', '--socket', path, '--verbose'], 'serving on');
    await runCli(['send', '--socket', path, 'create-channel']);
    await rawExchange(path, '{"v": ');
    running.child.kill('SIGINT');
    expect(await running.exited).toBe(0);
    const log = running.stderr();
    expect(log).toContain('eric-bus: command c\n');
    expect(log).toMatch(/^eric-bus: InvalidMessageFormat\(.*Malformed JSON.*\)$/m);
    expect(log).not.toMatch(/^\s+at /m);
    expect(running.stdout()).toBe(`eric-bus: serving on ${path}\n`);
  });
});
