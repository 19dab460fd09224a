// The curl session in README.md's HTTP section runs as written: each `curl` line against a fresh
// `eric-bus up` (its own process, so ids start at 1), its output compared with the `#` lines
// under it. A line that streams is stopped once it has printed what the README shows.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const HEADING = '## Plain HTTP: REST and Server-Sent Events';

interface Step {
  command: string;
  expected: string;
}

/** The `curl` lines of the section's `sh` blocks (continuations joined), each with the output under it. */
function steps(): Step[] {
  const start = readme.indexOf(HEADING);
  const section = readme.slice(start, readme.indexOf('\n## ', start + HEADING.length));
  const out: { command: string; expected: string[] }[] = [];
  for (const [, block] of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    let current: { command: string; expected: string[] } | undefined;
    for (const line of block!.replace(/ \\\n\s*/g, ' ').split('\n')) {
      if (line.startsWith('curl ')) out.push((current = { command: line.replace(/\s{2,}# .*$/, ''), expected: [] }));
      else if (line.startsWith('#') && current) current.expected.push(line.replace(/^# ?/, ''));
      else current = undefined;
    }
  }
  return out.map(({ command, expected }) => ({ command, expected: expected.map((line) => `${line}\n`).join('') }));
}

/** Runs a shell line until it exits or has printed `expected` (then stops it); resolves with its stdout. */
function runUntil(command: string, expected: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    // In a process group of its own, so that stopping it stops curl too (the shell may not exec it).
    const child = spawn('sh', ['-c', command], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.length < expected.length || child.exitCode !== null) return;
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // It ended meanwhile.
      }
    });
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      signal === null && code !== 0 ? reject(new Error(`exit ${code}: ${stderr}`)) : resolve(stdout),
    );
  });
}

describe('README: the HTTP session', () => {
  const session = steps();
  let up: ChildProcess;
  let bridge: string;

  beforeAll(async () => {
    up = spawn(process.execPath, ['dist/bridge/cli/main.js', 'up', '--port', '0', '--token', 'secret'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    bridge = await new Promise((resolve, reject) => {
      let output = '';
      up.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const port = /bridge at ws:\/\/127\.0\.0\.1:(\d+)\//.exec(output)?.[1];
        if (port) resolve(`http://127.0.0.1:${port}`);
      });
      up.once('exit', (code) => reject(new Error(`eric-bus up exited with ${code}: ${output}`)));
    });
  });
  afterAll(async () => {
    const exited = new Promise((resolve) => up.once('exit', resolve));
    up.kill('SIGTERM');
    await exited;
  });

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
    expect(readme).toContain('curl -sN "$BRIDGE/channels/1/events?token=$TOKEN"');
  });

  it('prints what the README shows, line after line', async () => {
    expect(session.length).toBeGreaterThanOrEqual(10);
    for (const { command, expected } of session)
      expect(await runUntil(command, expected, { BRIDGE: bridge, TOKEN: 'secret' }), command).toBe(expected);
  });
});
