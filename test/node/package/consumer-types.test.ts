// A project that uses eric-bus as a user's does: the package packed (`npm pack`) and installed in
// a temp dir outside this repo (so nothing resolves to our node_modules) without dev dependencies
// and without its optional peers, ws, ioredis, jose and prom-client (what a browser-only project installs); then the
// project's own `tsc` (strict, skipLibCheck off, NodeNext, no @types but @types/node for the Node
// script) and plain Node on what it installed; last, the same project after `npm install ws`.
// Packs the built dist/ as it is (`npm test` builds it first).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const dir = mkdtempSync(join(tmpdir(), 'eric-bus-consumer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** What `npm install` of the tarball printed on stderr (its warnings). */
let installWarnings = '';
/** The `eric-bus` command as the project installed it. */
const cli = join(dir, 'node_modules/eric-bus/bin/eric-bus.js');

const compilerOptions = {
  strict: true,
  skipLibCheck: false,
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  target: 'ES2022',
  noEmit: true,
};

/** A TypeScript project of the consumer: `dir/name`, one script, its tsconfig. */
function project(name: string, options: object, script: string): void {
  mkdirSync(join(dir, name));
  writeFileSync(join(dir, name, 'package.json'), '{ "type": "module" }\n');
  const tsconfig = { compilerOptions: { ...compilerOptions, ...options }, files: ['main.ts'] };
  writeFileSync(join(dir, name, 'tsconfig.json'), JSON.stringify(tsconfig));
  writeFileSync(join(dir, name, 'main.ts'), script);
}

/** Runs the consumer's `tsc` on a project; resolves with its output, which is empty when it passes. */
async function typecheck(name: string): Promise<string> {
  try {
    await run(process.execPath, [tsc, '-p', join(dir, name)], { cwd: dir, timeout: 60_000 });
    return '';
  } catch (error) {
    const { stdout, stderr, message } = error as { stdout?: string; stderr?: string; message: string };
    return `${stdout ?? ''}${stderr ?? ''}`.trim() || message;
  }
}

beforeAll(async () => {
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: root,
    timeout: 60_000,
  });
  const tarball = (JSON.parse(packed.stdout) as [{ filename: string }])[0].filename;
  writeFileSync(join(dir, 'package.json'), '{ "name": "consumer", "private": true, "type": "module" }\n');
  // As README says: `npm install eric-bus` (here its tarball), nothing else.
  const installed = await run(
    'npm',
    ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', `./${tarball}`],
    { cwd: dir, timeout: 90_000 },
  );
  installWarnings = installed.stderr;
  // The Node script's one @types package, as its project would have it.
  mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
  symlinkSync(join(root, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'), 'dir');

  project(
    'page',
    { lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: [] },
    `import { BridgeClient, type Command, Message, RemoteChannel, SSEChannel } from 'eric-bus';

const channel = new SSEChannel();
const listener = channel.addListener();
await listener.start();
channel.dispatch(listener.id, new Message('hello', { to: 'you' }));
for await (const event of channel.messageStream(listener)) {
  console.log(event.event, event.data);
  await listener.stop();
}
const client = new BridgeClient('ws://127.0.0.1:8080/?token=t', { WebSocket });
const remote = await RemoteChannel.create(client);
const command: Command = { v: 'b', c: remote.id, t: 'news', p: [1, 'two'] };
console.log(await client.sendPayload(command));
client.close();
`,
  );
  project(
    'server',
    { types: ['node'] },
    `import { Message, SSEChannel } from 'eric-bus';
import { RedisStore, type RedisStoreOptions, SocketClient, SocketServer, WebSocketBridge } from 'eric-bus/node';

const server = new SocketServer('/tmp/bus.sock');
await server.listen();
const bridge = await WebSocketBridge.start({ socketPath: '/tmp/bus.sock', port: 0 });
console.log(bridge.port, await new SocketClient('/tmp/bus.sock').createChannel());
new SSEChannel().broadcast(new Message('news'));
const options: RedisStoreOptions = { prefix: 'app:', redis: { password: 'secret', tls: { servername: 'redis' } } };
if (process.env.REDIS_URL) await RedisStore.connect(process.env.REDIS_URL, options);
await bridge.close();
await server.shutdown();
`,
  );
}, 180_000);

describe('a project using the packed package, without dev dependencies or its optional peers', () => {
  it('installs comlink, and no ws, no ioredis, no jose, no prom-client and no @types', () => {
    expect(existsSync(join(dir, 'node_modules/comlink'))).toBe(true);
    expect(existsSync(join(dir, 'node_modules/ws'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules/ioredis'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules/jose'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules/prom-client'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules/@types/ws'))).toBe(false);
    const installed = JSON.parse(readFileSync(join(dir, 'node_modules/eric-bus/package.json'), 'utf8'));
    expect(installed.peerDependenciesMeta).toEqual({
      ioredis: { optional: true },
      jose: { optional: true },
      'prom-client': { optional: true },
      ws: { optional: true },
    });
  });

  it("runs the browser library a page's bundler takes for 'eric-bus' (its default export condition)", async () => {
    const installed = JSON.parse(readFileSync(join(dir, 'node_modules/eric-bus/package.json'), 'utf8'));
    const entry = join(dir, 'node_modules/eric-bus', installed.exports['.'].default);
    expect(entry).toBe(join(dir, 'node_modules/eric-bus/dist/lib/index.js'));
    writeFileSync(
      join(dir, 'page.mjs'),
      `import { Message, SSEChannel } from ${JSON.stringify(entry)};
const channel = new SSEChannel();
const listener = channel.addListener();
await listener.start();
for (let n = 1; n <= 3; n++) channel.dispatch(listener.id, new Message('n', n));
const seen = [];
for await (const event of channel.messageStream(listener)) if (seen.push(event.data) === 3) break;
console.log(seen.join(' '));
`,
    );
    const { stdout } = await run(process.execPath, ['page.mjs'], { cwd: dir, timeout: 20_000 });
    expect(stdout).toBe('1 2 3\n');
  });

  it('installs without running scripts: none of the install hooks, no npm warning about them, the LICENSE', () => {
    const installed = JSON.parse(readFileSync(join(dir, 'node_modules/eric-bus/package.json'), 'utf8'));
    const hooks = ['preinstall', 'install', 'postinstall', 'prepare'].filter(
      (hook) => hook in (installed.scripts ?? {}),
    );
    expect(hooks).toEqual([]);
    expect(installWarnings).not.toMatch(/install.scripts/i);
    expect(readFileSync(join(dir, 'node_modules/eric-bus/LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
  });

  it("type-checks a page script importing 'eric-bus' (strict, skipLibCheck off, no @types)", async () => {
    expect(await typecheck('page')).toBe('');
  });

  it("type-checks a Node script importing 'eric-bus/node' with @types/node alone", async () => {
    expect(await typecheck('server')).toBe('');
  });

  it("imports 'eric-bus/node' without ioredis; RedisStore.connect says in one line what to install", async () => {
    writeFileSync(
      join(dir, 'redis.mjs'),
      `import { RedisStore, StartError } from 'eric-bus/node';
await RedisStore.connect('redis://127.0.0.1:1').catch((e) => console.log(e instanceof StartError, e.message));
`,
    );
    const { stdout } = await run(process.execPath, ['redis.mjs'], { cwd: dir, timeout: 20_000 });
    expect(stdout).toBe('true RedisStore needs ioredis: npm install ioredis\n');
  });

  it('eric-bus token without jose says in one line what to install, and exits 2', async () => {
    const key = join(dir, 'jwt.key');
    writeFileSync(key, 'a secret\n');
    const failed = await run(join(dir, 'node_modules/.bin/eric-bus'), ['token', '--jwt-key', key], {
      cwd: dir,
      timeout: 20_000,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 2, stderr: 'eric-bus token: signToken needs jose: npm install jose\n' });
  });

  it('the CLI with --redis prints that line and exits 2, as for any server that cannot start as asked', async () => {
    const cli = join(dir, 'node_modules/.bin/eric-bus');
    const socket = join(dir, 'bus.sock');
    const failed = await run(cli, ['serve', '--socket', socket, '--redis', 'redis://127.0.0.1:1'], {
      cwd: dir,
      timeout: 20_000,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({
      code: 2,
      stderr: 'eric-bus serve: RedisStore needs ioredis: npm install ioredis\n',
    });
  });
});

describe("the same project's Node side, without ws", () => {
  it("imports 'eric-bus/node' and serves sockets; the bridge says in one line what to install", async () => {
    writeFileSync(
      join(dir, 'ws.mjs'),
      `import { BridgeThread, SocketClient, SocketServer, StartError, startUp, WebSocketBridge } from 'eric-bus/node';
const path = ${JSON.stringify(join(dir, 'ws.sock'))};
const server = new SocketServer(path);
await server.listen();
const client = new SocketClient(path);
const channel = await client.createChannel();
const listener = await client.register(channel);
for (let n = 1; n <= 3; n++) await client.dispatch(channel, listener, 'n', n);
const seen = [];
for await (const line of client.stream(channel, listener)) if (seen.push(JSON.parse(line).data) === 3) break;
console.log(seen.join(' '));
for (const start of [
  () => WebSocketBridge.start({ socketPath: path }),
  () => BridgeThread.start({ socketPath: path }),
  () => startUp({ port: 0 }),
])
  await start().then(
    (started) => started.close().then(() => console.log('started')),
    (e) => console.log(e instanceof StartError, e.code, e.message),
  );
await server.shutdown();
`,
    );
    const { stdout } = await run(process.execPath, ['ws.mjs'], { cwd: dir, timeout: 20_000 });
    expect(stdout.split('\n')).toEqual([
      '1 2 3',
      ...Array(3).fill('true ERR_START The bridge needs ws: npm install ws'),
      '',
    ]);
  });

  it('the CLI says that line for up and bridge, and that --url needs ws for send and listen; exit code 2', async () => {
    const line = (command: string, user: string) => `eric-bus ${command}: ${user} needs ws: npm install ws\n`;
    const url = 'ws://127.0.0.1:1/?token=t';
    const [up, upThread, bridge, send, listen] = await Promise.all(
      [
        ['up', '--port', '0'],
        ['up', '--port', '0', '--thread'],
        ['bridge', '--socket', join(dir, 'ws.sock'), '--port', '0'],
        ['send', '--url', url, 'create-channel'],
        ['listen', '--url', url, '1'],
      ].map((args) => runCli(args, { script: cli })),
    );
    expect(up).toEqual({ code: 2, stdout: '', stderr: line('up', 'The bridge') });
    expect(upThread).toEqual({ code: 2, stdout: '', stderr: line('up', 'The bridge') });
    // bridge warns first that no server listens at that socket yet.
    expect(bridge).toMatchObject({ code: 2, stdout: '' });
    expect(bridge.stderr.split('\n').slice(-2)).toEqual([line('bridge', 'The bridge').trimEnd(), '']);
    expect(send).toEqual({ code: 2, stdout: '', stderr: line('send', '--url') });
    expect(listen).toEqual({ code: 2, stdout: '', stderr: line('listen', '--url') });
  });
});

describe('the same project after `npm install ws`', () => {
  beforeAll(async () => {
    // The version this repository has, so that npm finds it in its cache.
    const { version } = JSON.parse(readFileSync(join(root, 'node_modules/ws/package.json'), 'utf8'));
    await run('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', `ws@${version}`], {
      cwd: dir,
      timeout: 90_000,
    });
  }, 120_000);

  it('eric-bus up starts, send --url reaches the server through its bridge, and SIGTERM stops it', async () => {
    expect(existsSync(join(dir, 'node_modules/ws'))).toBe(true);
    const up = await startCli(['up', '--port', '0'], /bridge at (ws:\/\/\S+)\n/, { script: cli });
    try {
      const sent = await runCli(['send', '--url', up.match![1]!, 'create-channel'], { script: cli });
      expect(sent).toEqual({ code: 0, stdout: '1\n', stderr: '' });
    } finally {
      await up.close();
    }
    expect(await up.exited).toBe(0);
  });
});
