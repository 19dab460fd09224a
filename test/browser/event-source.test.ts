// The bridge's Server-Sent Events in a real browser: a page that uses nothing but Chromium's own
// EventSource streams a backend listener; the bridge PROCESS is killed (SIGKILL) and started
// again mid-stream; EventSource reconnects by itself with Last-Event-ID, and the bridge resumes
// the listener from there (SPEC §7, §8). Every message is counted: none lost, none twice, in order.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocketClient } from '../../bridge/index.js';
import { Message } from '../../src/index.js';
import { until } from '../node/helpers/async.js';
import { startServer } from '../node/helpers/socket.js';
import { launchChromium } from './chromium.js';

const TOKEN = 'event-source';

/** A page of its own origin, with no script at all: the test drives it. */
async function servePage(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_request, response) =>
    response.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>EventSource</title>'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

/** A free loopback port, so the bridge can come back on the same one. */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The CLI as its own process; resolves with it and what it printed once `ready` matches its output. */
function startCli(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, ['dist/bridge/cli/main.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) resolve({ child, match });
    });
    child.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`eric-bus ${args[0]} exited with ${code}:\n${output}`)));
  });
}

/** `eric-bus bridge` as its own process; resolves once it listens. */
async function startBridgeProcess(socketPath: string, port: number): Promise<ChildProcess> {
  const args = ['bridge', '--socket', socketPath, '--port', String(port), '--token', TOKEN];
  return (await startCli(args, /connect to/)).child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

interface PageState {
  received: { n: number; id: string }[];
  gaps: number;
  opens: number;
  errors: number;
  state: number;
}

describe("the browser's own EventSource through the bridge", () => {
  let browser: Browser;
  let site: Awaited<ReturnType<typeof servePage>>;
  let tab: Page | undefined;
  let bridge: ChildProcess | undefined;
  let backend: Awaited<ReturnType<typeof startServer>> | undefined;

  beforeAll(async () => {
    site = await servePage();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await tab?.close();
    if (bridge) await kill(bridge);
    await backend?.close();
    await browser?.close();
    await new Promise((resolve) => site.server.close(resolve));
  });

  it('reconnects by itself after the bridge process is killed and restarted: each message once, in order', async () => {
    // The history reaches back past whatever was in flight when the bridge died (SPEC §7: within
    // the history nothing is lost); the default 1000 holds for a reader that keeps up.
    backend = await startServer({ history: 100_000 });
    const direct = new SocketClient(backend.path);
    const c = await direct.createChannel();
    const r = await direct.register(c);
    const port = await freePort();
    bridge = await startBridgeProcess(backend.path, port);

    tab = await browser.newPage();
    await tab.goto(`${site.origin}/`);
    const url = `http://127.0.0.1:${port}/channels/${c}/listeners/${r}/events?token=${TOKEN}`;
    await tab.evaluate((url) => {
      const w = window as unknown as { state: PageState; source: EventSource };
      const state: PageState = { received: [], gaps: 0, opens: 0, errors: 0, state: 0 };
      w.state = state;
      const source = new EventSource(url);
      w.source = source;
      source.addEventListener('n', (e) => state.received.push({ n: JSON.parse(e.data), id: e.lastEventId }));
      source.addEventListener('_eric_gap', () => state.gaps++);
      source.onopen = () => state.opens++;
      source.onerror = () => {
        state.errors++;
        state.state = source.readyState;
      };
    }, url);
    const pageState = () => tab!.evaluate(() => (window as unknown as { state: PageState }).state);
    const count = async () => (await pageState()).received.length;

    // Dispatched in-process, in bulk; the bridge dies while it relays them, so that some were
    // taken from the queue (into the Unix socket's buffer and the bridge's) and never reached the page.
    const channel = backend.server.channels.get(c);
    const total = 40_000;
    let sent = 0;
    const send = (upTo: number) => {
      for (; sent < upTo; sent++) channel.dispatch(r, new Message('n', sent));
    };
    await expect.poll(() => backend!.server.streams).toBe(1);
    send(30_000);
    await until(() => channel.queueLength(r) <= 25_000, 'the bridge to be relaying');
    await kill(bridge);
    const taken = 30_000 - channel.queueLength(r);
    send(35_000); // queued on the server while no bridge runs
    bridge = await startBridgeProcess(backend.path, port);
    send(total);
    await expect.poll(count, { timeout: 60_000 }).toBeGreaterThanOrEqual(total);

    const state = await pageState();
    expect(taken).toBeLessThan(30_000); // the bridge died mid-stream
    expect(state.received.map((e) => e.n)).toEqual(Array.from({ length: total }, (_, n) => n));
    expect(new Set(state.received.map((e) => e.id)).size).toBe(total);
    expect(state.gaps).toBe(0);
    expect(state.opens).toBeGreaterThanOrEqual(2);
    expect(state.errors).toBeGreaterThanOrEqual(1);
    // Reconnecting (0 CONNECTING) after the kill, never given up (2 CLOSED).
    expect(state.state).toBe(0);
    await tab.evaluate(() => (window as unknown as { source: EventSource }).source.close());
    await tab.close();
    tab = undefined;
  });

  it("runs the README's EventSource snippet as written", async () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    const snippet = [...readme.matchAll(/```js\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .find((code) => code.includes('EventSource'));
    expect(snippet).toBeDefined();
    // A fresh `eric-bus up` (its own process: ids start at 1), as the README's session has it.
    const up = await startCli(
      ['up', '--port', '0', '--token', 'secret'],
      /socket server on (\S+)\n[\s\S]*bridge at ws:\/\/([^/]+)\//,
    );
    try {
      const [, socketPath, host] = up.match;
      const direct = new SocketClient(socketPath!);
      const c = await direct.createChannel();
      const r = await direct.register(c);
      await direct.dispatch(c, r, 'hello', { n: 1 });
      await direct.broadcastMessage(c, 'news', 'to all');
      tab = await browser.newPage();
      await tab.goto(`${site.origin}/`);
      await tab.evaluate(() => {
        const w = window as unknown as { logged: unknown[][] };
        w.logged = [];
        console.log = (...args: unknown[]) => void w.logged.push(args);
      });
      await tab.addScriptTag({ content: snippet!.replace("'http://127.0.0.1:8765'", `'http://${host}'`) });
      const logged = () => tab!.evaluate(() => (window as unknown as { logged: unknown[][] }).logged);
      await expect.poll(async () => (await logged()).length).toBeGreaterThanOrEqual(2);
      expect(await logged()).toEqual([
        ['hello', { n: 1 }, '1:1'],
        ['news', 'to all', '1:2'],
      ]);
      // Removing the listener ends the stream with _eric_channel_closed: the snippet closes its EventSource.
      await direct.removeListener(c, r);
      // (The snippet's `const events` is a global of the page's scripts, not a property of window.)
      await expect.poll(() => tab!.evaluate('events.readyState')).toBe(2);
    } finally {
      await kill(up.child);
    }
  });
});
