import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';
import { hasRedisServer, redisForTests } from '../helpers/redis.js';
import { holdPort } from '../helpers/socket.js';

const PASSWORD = 'hunter2';

describe.skipIf(!hasRedisServer)('eric-bus serve / up --redis: the password is never printed', () => {
  const redis = redisForTests(['--requirepass', PASSWORD]);

  it('serve prints where its channels are, the password masked', async ({ dir, startCli }) => {
    const path = join(dir, 'bus.sock');
    const url = `redis://:${PASSWORD}@127.0.0.1:${redis().port}`;
    const serving = await startCli(['serve', '--socket', path, '--redis', url], 'serving on');
    expect(serving.stdout()).toBe(
      `eric-bus: serving on ${path} (channels in redis://:***@127.0.0.1:${redis().port})\n`,
    );
    expect(serving.stderr()).not.toContain(PASSWORD);
  });

  it.for(['up', 'up --thread'])('%s does too, a user name kept', async (command, { startCli }) => {
    const url = `redis://default:${PASSWORD}@127.0.0.1:${redis().port}/2`;
    const up = await startCli([...command.split(' '), '--port', '0', '--redis', url], /bridge at/);
    expect(up.stdout()).toMatch(
      /^eric-bus up: socket server on \S+ \(channels in redis:\/\/default:\*\*\*@127\.0\.0\.1:\d+\/2\)$/m,
    );
    expect(up.stdout() + up.stderr()).not.toContain(PASSWORD);
  });
});

describe('eric-bus serve / up --redis: mistakes and failures', () => {
  it('a Redis out of reach: one line naming the command, the password masked, exit 1', async ({ dir }) => {
    const held = await holdPort();
    await held.close(); // free now, and nothing listens there
    for (const command of ['serve', 'up']) {
      const url = `redis://:${PASSWORD}@127.0.0.1:${held.port}`;
      const { code, stdout, stderr } = await runCli([command, '--socket', join(dir, 'bus.sock'), '--redis', url]);
      expect([code, stdout]).toEqual([1, '']);
      expect(stderr).toMatch(
        new RegExp(
          `^eric-bus ${command}: Cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${held.port}: .+\\n$`,
        ),
      );
    }
  });

  it('a --redis that is not a URL is refused without echoing its password', async ({ dir }) => {
    const { code, stderr } = await runCli(['serve', '--socket', join(dir, 'bus.sock'), '--redis', `:${PASSWORD}@h:1`]);
    expect(code).toBe(2);
    expect(stderr).toContain(`not ':***@h:1'`);
    expect(stderr).not.toContain(PASSWORD);
  });

  it.for([
    [['--max-channels', '5'], '--max-channels limits'],
    [['--max-listeners', '5'], '--max-listeners limits'],
    [['--max-channels', '5', '--max-listeners', '5'], '--max-channels and --max-listeners limit'],
  ])('%j with --redis is refused, naming what was given', async ([flags, named], { dir }) => {
    for (const command of ['serve', 'up']) {
      const args = [command, '--socket', join(dir, 'bus.sock'), ...flags, '--redis', 'redis://127.0.0.1:1'];
      const { code, stderr } = await runCli(args);
      expect([code, stderr.split('\n')[0]]).toEqual([
        2,
        `eric-bus ${command}: ${named} channels in memory, not in Redis (there, Redis's maxmemory is the budget)`,
      ]);
    }
  });

  it.for(['serve', 'up'])('%s --help says the limits are for channels in memory', async (command) => {
    expect((await runCli([command, '--help'])).stdout).toMatch(
      /^ {2,}\(in memory only; with --redis, Redis's maxmemory is the budget\)$/m,
    );
  });
});

describe('eric-bus serve --help', () => {
  it('says that serve warns about a socket directory other users can write to', async () => {
    expect((await runCli(['serve', '--help'])).stdout).toMatch(/warns when other users can write to its directory/);
  });
});
