// `eric-bus send -`: many commands from stdin, one JSON object per line, one reply per line in the
// order of the input, errors on their lines, exit 1 if any failed; on one session in front of our
// server, through a bridge with --url, and one connection per command in front of eric-sse's.
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { SocketClient } from '../../../bridge/index.js';
import { formatException, InvalidMessageFormat } from '../../../src/index.js';
import { collect, until } from '../helpers/async.js';
import { runCli } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';
import { startPythonServer } from '../helpers/python.js';

/**
 * 1,000 commands for listener `l` of channel `c`, as lines of stdin with blank lines between some:
 * dispatches of n, except every 97th, which goes to a listener that does not exist, a line that is
 * not JSON, and a stream (refused: `listen` reads streams). Returns the input, the stdout expected,
 * and the n that reach the listener, in order.
 */
function script(c: string, l: string) {
  const input: string[] = [];
  const expected: string[] = [];
  const delivered: number[] = [];
  for (let n = 0; n < 1000; n++) {
    if (n % 50 === 7) input.push('', '   ');
    if (n === 500) {
      const line = '{"v": "d", "c": oops}';
      input.push(line);
      expected.push(formatException(new InvalidMessageFormat(`Malformed JSON: ${jsonError(line)}`)));
    } else if (n === 600) {
      input.push(JSON.stringify({ v: 'l', c, r: l }));
      expected.push(`UsageError("'l' streams events: read a stream with 'eric-bus listen', one per command")`);
    } else if (n % 97 === 50) {
      input.push(JSON.stringify({ v: 'd', c, r: `missing-${n}`, t: 'n', p: n }));
      expected.push(`InvalidListenerException('Invalid listener missing-${n}')`);
    } else {
      input.push(JSON.stringify({ v: 'd', c, r: l, t: 'n', p: n }));
      expected.push('ack');
      delivered.push(n);
    }
  }
  return { input: `${input.join('\n')}\n`, expected: `${expected.join('\n')}\n`, delivered };
}

/** What JSON.parse says of `text` (the same Node runs the command). */
function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${text} is JSON`);
}

/** A channel and a listener on the server at `path`, made on connections of their own. */
async function listener(path: string) {
  const client = new SocketClient(path, { sessions: false });
  const c = await client.createChannel();
  return { client, c, l: await client.register(c) };
}

describe('eric-bus send -', () => {
  it('1,000 lines on one session: 1,000 replies in order, errors on their lines, exit 1', async ({ dir, startCli }) => {
    const path = join(dir, 'bus.sock');
    const serving = await startCli(['serve', '--socket', path, '--verbose'], 'serving on');
    const { client, c, l } = await listener(path);
    const { input, expected, delivered } = script(c, l);
    expect(await runCli(['send', '--socket', path, '-'], { input })).toEqual({ code: 1, stdout: expected, stderr: '' });
    const events = await collect(client.stream(c, l, { limit: delivered.length }));
    expect(events.map((line) => JSON.parse(line).data)).toEqual(delivered);
    // The server's log: one hello and one session for all 1,000, no command on a connection of its own.
    const logged = (what: string) =>
      serving
        .stderr()
        .split('\n')
        .filter((line) => line === `eric-bus: ${what}`).length;
    await until(() => logged('session closed') === 1, 'the session to close');
    expect([logged('command hello'), logged('session opened'), logged('command d')]).toEqual([1, 1, 0]);
  });

  it("in front of eric-sse's server: one connection per command, the same replies", async ({ dir }) => {
    const path = join(dir, 'eric-sse.sock');
    const stopPython = await startPythonServer(path);
    try {
      const { c, l } = await listener(path);
      const { input, expected } = script(c, l);
      expect(await runCli(['send', '--socket', path, '-'], { input })).toEqual({
        code: 1,
        stdout: expected,
        stderr: '',
      });
    } finally {
      await stopPython();
    }
  });

  it('with --url, through a bridge: the same replies in order', async ({ startCli }) => {
    const up = await startCli(['up', '--port', '0'], /socket server on (\S+)\n.*bridge at (ws:\/\/\S+)/);
    const [, path, url] = up.match as unknown as [string, string, string];
    const { client, c, l } = await listener(path);
    const { input, expected, delivered } = script(c, l);
    expect(await runCli(['send', '--url', url, '-'], { input })).toEqual({ code: 1, stdout: expected, stderr: '' });
    // The bridge sends commands to the server side by side, each on a connection of its own: each
    // arrives once, in whatever order the server took them.
    const events = await collect(client.stream(c, l, { limit: delivered.length }));
    expect(events.map((line) => JSON.parse(line).data as number).sort((a, b) => a - b)).toEqual(delivered);
  });

  it('all lines answered: exit 0; none at all: nothing printed, exit 0; arguments after - are a usage error', async ({
    server,
  }) => {
    const input = '{"v": "c"}\n\n{"v": "c"}\r\n{"v": "hello"}';
    const { code, stdout } = await runCli(['send', '--socket', server.path, '-'], { input });
    const [first, second, hello] = stdout.trimEnd().split('\n');
    expect([code, first, second]).toEqual([0, '1', '2']);
    expect(JSON.parse(hello!)).toMatchObject({ server: 'eric-bus', features: expect.arrayContaining(['session']) });
    expect(await runCli(['send', '--socket', server.path, '-'], { input: '\n\n' })).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
    const extra = await runCli(['send', '--socket', server.path, '-', 'x'], { input: '' });
    expect([extra.code, extra.stderr.split('\n')[0]]).toEqual([
      2,
      'eric-bus send: send - takes no arguments: the commands come on stdin',
    ]);
  });
});
