// The terminal sessions of the guides run as written: each `npx eric-bus` or `curl` line of a
// section's session (an `sh` block that starts with `export`, which names what the test provides)
// against fresh servers (processes of their own, so ids start at 1), its
// output (stdout) compared with the `#` lines under it. A line that streams is stopped once it
// has printed what the guide shows. A line whose comment says `exit N` must exit with N; any
// other must exit with 0. `npx eric-bus` runs the built bin directly: in the clone, npx resolves
// to that same file, and starting npm for each line would only add seconds.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, type Running, startCli } from '../helpers/cli.js';
import { hasRedisServer, type RedisServer, startRedis } from '../helpers/redis.js';
import { tempDir } from '../helpers/socket.js';

const root = join(import.meta.dirname, '../../..');
/** How long one line may run before it is stopped and judged on what it printed. */
const STEP_TIMEOUT_MS = 8000;

interface Step {
  command: string;
  expected: string;
  exitCode: number;
}

/** The `curl` and `npx eric-bus` lines of a section's sessions (continuations joined), each with its output. */
function steps(document: string, heading: string): Step[] {
  const text = readFileSync(join(root, document), 'utf8');
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${document} has no section '${heading}'`);
  const end = text.indexOf('\n## ', start + heading.length + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  const out: { command: string; comment: string; expected: string[] }[] = [];
  for (const [, block] of section.matchAll(/```sh\n(export [\s\S]*?)```/g)) {
    let current: (typeof out)[number] | undefined;
    for (const line of block!.replace(/ \\\n\s*/g, ' ').split('\n')) {
      const command = /^((?:curl|npx eric-bus) .*?)(?:\s{2,}# (.*))?$/.exec(line);
      if (command) out.push((current = { command: command[1]!, comment: command[2] ?? '', expected: [] }));
      else if (line.startsWith('#') && current) current.expected.push(line.replace(/^# ?/, ''));
      else current = undefined;
    }
  }
  return out.map(({ command, comment, expected }) => ({
    command: command.replace(/^npx eric-bus /, `"${process.execPath}" "${CLI}" `),
    expected: expected.map((line) => `${line}\n`).join(''),
    exitCode: Number(/\bexit (\d+)/.exec(comment)?.[1] ?? 0),
  }));
}

/** Runs a shell line until it exits or has printed `expected` (then stops it): its stdout and exit code. */
function runUntil(command: string, expected: string, env: Record<string, string>, stopWhenPrinted: boolean) {
  return new Promise<{ stdout: string; code: number | null }>((resolve, reject) => {
    // In a process group of its own, so that stopping it stops curl too (the shell may not exec it).
    const child: ChildProcess = spawn('sh', ['-c', command], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let stopped = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!stopWhenPrinted || stdout.length < expected.length || child.exitCode !== null) return;
      try {
        stopped = true;
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // It ended meanwhile.
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    // A line that never prints what the guide shows fails here, with what it printed, not at the test's timeout.
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), STEP_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', () => clearTimeout(timer));
    child.once('close', (code) => resolve({ stdout: stdout || stderr, code: stopped ? 0 : code }));
  });
}

/** Runs every step in order and checks what each prints and how it exits. */
async function runSession(session: Step[], env: Record<string, string>): Promise<void> {
  for (const { command, expected, exitCode } of session) {
    // A line that says how it exits is left to exit; any other is stopped once it has printed it all.
    const { stdout, code } = await runUntil(command, expected, env, exitCode === 0);
    expect(stdout, command).toBe(expected);
    expect(code, command).toBe(exitCode);
  }
}

describe('docs/bridge.md: the HTTP session', () => {
  const session = steps('docs/bridge.md', '## Plain HTTP: REST and Server-Sent Events');
  let up: Running & { match: RegExpExecArray | null };
  let bridge: string;

  beforeAll(async () => {
    up = await startCli(['up', '--port', '0', '--token', 'secret'], /bridge at ws:\/\/127\.0\.0\.1:(\d+)\//);
    bridge = `http://127.0.0.1:${up.match![1]}`;
  });
  afterAll(() => up.close());

  it('has a curl line for each of the eight routes', () => {
    const routes = [
      /-X POST "\$BRIDGE\/channels"/,
      /-X POST "\$BRIDGE\/channels\/1\/listeners"/,
      /"\$BRIDGE\/channels\/1\/listeners\/1\/messages" .* -d /,
      /"\$BRIDGE\/channels\/1\/messages" .* -d /,
      /"\$BRIDGE\/channels\/1\/listeners\/1\/events\?token=\$TOKEN"/,
      /-X DELETE "\$BRIDGE\/channels\/1\/listeners\/1"/,
      /-X DELETE "\$BRIDGE\/channels\/1"/,
    ];
    for (const route of routes)
      expect(
        session.some((step) => route.test(step.command)),
        String(route),
      ).toBe(true);
    // The watch is shown in the text beside the session (it only streams what comes after it).
    expect(readFileSync(join(root, 'docs/bridge.md'), 'utf8')).toContain(
      'curl -sN "$BRIDGE/channels/1/events?token=$TOKEN"',
    );
  });

  it('prints what the guide shows, line after line', async () => {
    expect(session.length).toBeGreaterThanOrEqual(10);
    await runSession(session, { BRIDGE: bridge, TOKEN: 'secret' });
  });
});

describe('docs/cli.md: a server in the terminal', () => {
  const session = steps('docs/cli.md', '## A server in the terminal');
  const { dir, cleanup } = tempDir();
  let serve: Running;

  beforeAll(async () => {
    serve = await startCli(['serve', '--socket', join(dir, 'bus.sock')], 'serving on');
  });
  afterAll(async () => {
    await serve.close();
    cleanup();
  });

  it('prints what the guide shows, line after line', async () => {
    expect(session.length).toBeGreaterThanOrEqual(8);
    await runSession(session, { SOCKET: join(dir, 'bus.sock') });
  });
});

describe.runIf(hasRedisServer)('docs/redis.md: two servers on one Redis', () => {
  const session = steps('docs/redis.md', '## Setting it up');
  const { dir, cleanup } = tempDir();
  let redis: RedisServer;
  const servers: Running[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    for (const name of ['a', 'b'])
      servers.push(
        await startCli(['serve', '--socket', join(dir, `${name}.sock`), '--redis', redis.url], 'serving on'),
      );
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await redis?.close();
    cleanup();
  });

  it('prints what the guide shows, line after line', async () => {
    expect(session.length).toBeGreaterThanOrEqual(4);
    await runSession(session, { A: join(dir, 'a.sock'), B: join(dir, 'b.sock'), REDIS: redis.url });
  });
});

describe.runIf(hasRedisServer)('docs/redis.md: several bridges behind a list of URLs', () => {
  const session = steps('docs/redis.md', '## Several bridges behind a list of URLs');
  let redis: RedisServer;
  const ups: Running[] = [];
  const urls: string[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    for (let k = 0; k < 3; k++) {
      const up = await startCli(
        ['up', '--redis', redis.url, '--port', '0', '--token', 'secret'],
        /bridge at (ws:\/\/\S+)/,
      );
      ups.push(up);
      urls.push(up.match![1]!);
    }
    // The first dies, as the guide has it, before the lines that follow.
    await ups[0]!.close();
  });
  afterAll(async () => {
    await Promise.all(ups.map((up) => up.close()));
    await redis?.close();
  });

  it('prints what the guide shows, line after line: the client moves past the dead bridge', async () => {
    expect(session.length).toBeGreaterThanOrEqual(4);
    await runSession(session, { A: urls[0]!, B: urls[1]!, C: urls[2]! });
  });
});
