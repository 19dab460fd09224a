// `npm start`'s program (dist/scripts/start.js) on its failure paths and its one moving default:
// every failure is one line and exit 2, and leaves no socket or temp dir behind. Its success path,
// the demo itself, is driven in Chromium by test/browser/demo.test.ts.
import { readdirSync } from 'node:fs';
import { describe, expect } from 'vitest';
import { runCli, START } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';
import { holdPort } from '../helpers/socket.js';

/** `npm start`'s program with its private temp dir (and socket) under `tmp`, checked empty afterwards. */
const start = (args: string[], tmp: string) => runCli(args, { script: START, env: { TMPDIR: tmp } });

describe('npm start', () => {
  it('a bad flag is one line and exit 2, before anything starts', async ({ dir }) => {
    const cases: [string[], string][] = [
      [['--port', 'abc'], "--port takes a port number (0 for any free one), not 'abc'"],
      [['--bridge-port', '70000'], "--bridge-port takes a port number (0 for any free one), not '70000'"],
      [['--bogus'], 'unknown option --bogus'],
      [['--prot', '8080'], 'unknown option --prot (did you mean --port?)'],
    ];
    for (const [args, message] of cases) {
      const { code, stdout, stderr } = await start(args, dir);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toBe(`npm start: ${message}\nRun 'npm start -- --help' for usage.\n`);
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  it('--help lists its options, -h, --help included', async ({ dir }) => {
    const { code, stdout } = await start(['-h'], dir);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: npm start/);
    for (const flag of ['--host H', '--port N', '--bridge-port N', '-h, --help']) expect(stdout).toContain(flag);
  });

  it.for(['--port', '--bridge-port'])(
    'a %s that is taken is an error naming it (not a silent move), and what had started is stopped',
    async (flag, { dir }) => {
      const held = await holdPort();
      try {
        const { code, stdout, stderr } = await start([flag, String(held.port)], dir);
        expect(code).toBe(2);
        expect(stdout).toBe('');
        expect(stderr).toBe(
          `npm start: port ${held.port} on 127.0.0.1 is already in use; ` +
            `choose another with ${flag} N, or ${flag} 0 for any free one\n`,
        );
        expect(readdirSync(dir)).toEqual([]);
      } finally {
        await held.close();
      }
    },
  );

  it('the default page port moves when it is taken, and says so; Ctrl-C then cleans up', async ({ dir, startCli }) => {
    // Taken by us, or already by someone else: taken either way.
    const held = await holdPort(5173).catch((error: NodeJS.ErrnoException) => {
      expect(error.code).toBe('EADDRINUSE');
      return undefined;
    });
    try {
      const running = await startCli([], /page +http:\/\/127\.0\.0\.1:(\d+)\//, {
        script: START,
        env: { TMPDIR: dir },
      });
      const port = Number(running.match![1]);
      expect(port).not.toBe(5173);
      expect(running.stdout()).toContain(`(port 5173 is in use, so the page is on port ${port}; --port N picks one)`);
      expect(readdirSync(dir)).toHaveLength(2); // the socket's private dir, and the one of the page's token key
      running.child.kill('SIGINT');
      expect(await running.exited).toBe(0);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await held?.close();
    }
  });
});
