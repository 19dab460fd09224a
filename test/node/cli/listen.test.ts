import { describe, expect } from 'vitest';
import { SocketClient } from '../../../bridge/index.js';
import { until } from '../helpers/async.js';
import { runCli } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';

describe('eric-bus listen: stopped by a signal', () => {
  it.for([
    ['--socket', 'SIGINT'],
    ['--url', 'SIGINT'],
    ['--socket', 'SIGTERM'],
    ['--url', 'SIGHUP'],
  ] as const)(
    'listen %s on %s leaves its idle stream at once, exits 0, and loses nothing',
    async ([how, signal], { stack, startCli }) => {
      const { server } = stack.backend;
      const client = new SocketClient(server.path);
      const c = await client.createChannel();
      const l = await client.register(c);
      await client.dispatch(c, l, 'first');
      const where = how === '--socket' ? server.path : stack.bridge.url;
      const listening = await startCli(['listen', how, where, c, l], '"event":"first"');
      // Idle now: nothing is queued, so the server cannot notice a silent departure (it finds out only
      // when it next writes).
      expect(server.streams).toBe(1);
      listening.child.kill(signal);
      expect(await listening.exited).toBe(0);
      await until(() => server.streams === 0, 'the server to release the stream');
      await client.dispatch(c, l, 'later');
      expect(server.channels.get(c).queueLength(l)).toBe(1);
      const heard = await runCli(['listen', '--socket', server.path, c, l, '--count', '1']);
      expect(JSON.parse(heard.stdout)).toMatchObject({ event: 'later' });
    },
  );

  it('listen --help says what each line carries, id included', async () => {
    expect((await runCli(['listen', '--help'])).stdout).toContain('{"event", "retry", "data", "id"}');
  });
});
