// The package as a user installs it: its entry points resolved by Node from the built dist/
// (no vitest aliases), and the files `npm pack` would publish.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../../..');
// Inside the package, so `eric-bus` resolves to this package through its own exports map.
const dir = mkdtempSync(join(root, 'test/.package-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs an ES module with plain Node and returns what it printed. */
async function node(code: string): Promise<string> {
  const file = join(dir, `check-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, code);
  const { stdout } = await run(process.execPath, [file], { cwd: dir });
  return stdout.trim();
}

describe('the published package', () => {
  it("shares one set of classes between 'eric-bus' and 'eric-bus/node' in Node", async () => {
    const out = await node(`
      import { join } from 'node:path';
      import { InvalidChannelException } from 'eric-bus';
      import { SocketClient, SocketServer } from 'eric-bus/node';
      const path = join(${JSON.stringify(dir)}, 'bus.sock');
      const server = new SocketServer(path);
      await server.listen();
      try {
        await new SocketClient(path).register('404');
      } catch (error) {
        console.log(error instanceof InvalidChannelException, error.message);
      }
      await server.shutdown();
    `);
    expect(out).toBe('true No channel with id 404');
  });

  it("resolves 'eric-bus/worker' to the worker_threads flavour in Node", async () => {
    const out = await node(`
      import { exposeHandler } from 'eric-bus/worker';
      import { fileURLToPath } from 'node:url';
      const resolved = fileURLToPath(import.meta.resolve('eric-bus/worker'));
      console.log(typeof exposeHandler, resolved.endsWith('dist/bridge/workers/expose-in-thread.js'));
    `);
    expect(out).toBe('function true');
  });

  it("starts worker threads from a module URL in Node, through 'eric-bus' alone", async () => {
    writeFileSync(
      join(dir, 'square-worker.mjs'),
      "import { exposeHandler } from 'eric-bus/worker';\nexposeHandler(({ payload }) => payload * payload);\n",
    );
    const out = await node(`
      import { DataProcessingChannel, Message } from 'eric-bus';
      const worker = new URL('./square-worker.mjs', import.meta.url);
      const channel = new DataProcessingChannel({ maxWorkers: 2, worker });
      const listener = channel.addListener();
      for (let n = 0; n < 100; n++) channel.dispatch(listener.id, new Message('square', n));
      let sum = 0;
      for await (const { data } of channel.processQueue(listener)) sum += data;
      await channel.close();
      console.log(sum);
    `);
    expect(out).toBe('328350');
  });

  it('publishes the library bundle, the Node code and the type declarations, not tests or benchmarks', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
    const files = (JSON.parse(stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
    for (const entry of [
      'LICENSE',
      'bin/eric-bus.js',
      'dist/lib/index.js',
      'dist/lib/worker.js',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/workers/expose-handler.d.ts',
      'dist/bridge/index.js',
      'dist/bridge/index.d.ts',
      'dist/bridge/cli/main.js',
      'dist/bridge/workers/expose-in-thread.js',
      'dist/bridge/node-library.js',
    ]) {
      expect(files).toContain(entry);
    }
    expect(files.filter((f) => /^dist\/(test|bench|scripts)\//.test(f) || f.endsWith('.map'))).toEqual([]);
  });
});
