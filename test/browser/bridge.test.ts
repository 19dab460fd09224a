// The bridge from a real browser: Chromium loads a page that uses the built library's
// BridgeClient and RemoteChannel with the browser's own WebSocket and fetch.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { basename, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import { SocketClient, WebSocketBridge } from '../../bridge/index.js';
import { Message } from '../../src/index.js';
import { it } from '../node/helpers/fixtures.js';
import { launchChromium } from './chromium.js';

const root = join(import.meta.dirname, '../..');

// The page: the library bundle as a module, exposed to the tests on window.
const page = `<!doctype html><meta charset="utf-8"><title>bridge test</title>
<script type="importmap">{ "imports": { "comlink": "/comlink.mjs" } }</script>
<script type="module">
  import * as bus from '/lib/index.js';
  window.bus = bus;
  window.ready = true;
</script>`;

/** Serves the test page and the built library (dist/lib, every chunk) on a loopback port. */
async function servePage(): Promise<{ server: Server; origin: string }> {
  const lib = join(root, 'dist/lib');
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://page').pathname;
    if (path === '/') return void response.writeHead(200, { 'Content-Type': 'text/html' }).end(page);
    const file =
      path === '/comlink.mjs'
        ? join(root, 'node_modules/comlink/dist/esm/comlink.mjs')
        : path.startsWith('/lib/') && /^[\w.-]+\.js$/.test(basename(path))
          ? join(lib, basename(path))
          : undefined;
    const body = file && (await readFile(file).catch(() => undefined));
    if (!body) return void response.writeHead(404).end();
    response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

describe('BridgeClient in Chromium', () => {
  let browser: Browser;
  let site: Awaited<ReturnType<typeof servePage>>;
  let tab: Page;

  beforeAll(async () => {
    site = await servePage();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => site.server.close(resolve));
  });
  afterEach(async () => {
    await tab?.close();
  });

  async function openPage(): Promise<Page> {
    tab = await browser.newPage();
    const errors: Error[] = [];
    tab.on('pageerror', (error) => errors.push(error));
    await tab.goto(site.origin + '/');
    // A module that fails to load would otherwise only show as a timeout.
    await tab.waitForLoadState('load');
    if (errors.length > 0) throw errors[0];
    await tab.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    return tab;
  }

  /** A page whose BridgeClient streams listener `l` of `c`: data to `window.received`, states to `window.states`. */
  async function streamInPage(url: string, c: string, l: string): Promise<Page> {
    const page = await openPage();
    await page.evaluate(
      ({ url, c, l }) => {
        const { BridgeClient } = (window as any).bus;
        const client = new BridgeClient(url, { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
        const w = window as any;
        w.received = [];
        w.states = [];
        client.onStateChange((s: string) => w.states.push(s));
        void (async () => {
          for await (const event of client.stream(c, l)) w.received.push(event.data);
        })();
      },
      { url, c, l },
    );
    return page;
  }

  it('drives a backend channel: every verb through RemoteChannel and the client, streams with break', async ({
    startStack,
  }) => {
    const stack = await startStack();
    const page = await openPage();
    const result = await page.evaluate(async (url) => {
      const { BridgeClient, RemoteChannel, Message } = (window as any).bus;
      const client = new BridgeClient(url);
      const channel = await RemoteChannel.create(client);
      const listener = await channel.addListener();
      await channel.dispatch(listener, new Message('hello', { from: 'page' }));
      await channel.broadcast(new Message('news', 'everyone'));
      const events = [];
      for await (const event of channel.messageStream(listener)) {
        events.push(event);
        if (events.length === 2) break;
      }
      const other = await client.register(channel.id);
      const removed = await client.removeListener(channel.id, other);
      let error = '';
      await client.dispatch(channel.id, other, 'x').catch((e: Error) => (error = `${e.name}: ${e.message}`));
      await channel.remove();
      const state = client.state;
      client.close();
      return { events, removed, error, state, listener: listener.id };
    }, stack.bridge.url);
    expect(result).toEqual({
      events: [
        { event: 'hello', retry: 5, data: { from: 'page' }, id: `${result.listener}:1` },
        { event: 'news', retry: 5, data: 'everyone', id: `${result.listener}:2` },
      ],
      listener: expect.any(String),
      removed: 'ack',
      error: expect.stringMatching(/^InvalidListenerException: /),
      state: 'connected',
    });
  });

  it('keeps streaming across a bridge restart: reconnects and loses nothing queued while it was down', async ({
    startStack,
  }) => {
    const stack = await startStack({ token: 'browser' });
    const port = stack.bridge.port;
    const direct = new SocketClient(stack.backend.path);
    const c = await direct.createChannel();
    const l = await direct.register(c);
    const page = await streamInPage(stack.bridge.url, c, l);
    for (let n = 0; n < 5; n++) await direct.dispatch(c, l, 'n', n);
    await page.waitForFunction(() => (window as any).received.length === 5);
    await stack.bridge.close();
    for (let n = 5; n < 10; n++) await direct.dispatch(c, l, 'n', n);
    stack.bridge = await WebSocketBridge.start({ socketPath: stack.backend.path, port, token: 'browser' });
    await page.waitForFunction(() => (window as any).received.length >= 10);
    expect(await page.evaluate(() => (window as any).received)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await page.evaluate(() => (window as any).states)).toEqual(
      expect.arrayContaining(['reconnecting', 'connected']),
    );
  });

  it('resumes exactly after the bridge process dies with events in flight: every message once, in order', async ({
    server,
    registered: { c, l },
    startBridgeProcess,
  }) => {
    const bridge = await startBridgeProcess(server.path, 'chromium');
    const channel = server.channels.get(c);
    const page = await streamInPage(bridge.url, c, l);
    let produced = 0;
    const produce = (count: number) => {
      for (let k = 0; k < count; k++) channel.dispatch(l, new Message('n', ++produced));
    };
    produce(200);
    await page.waitForFunction((n) => (window as any).received.length === n, produced);
    await bridge.killMidStream(
      () => produce(100),
      () => channel.queueLength(l) === 0,
    );
    // The last ones died with the bridge.
    expect(await page.evaluate(() => (window as any).received.length)).toBeLessThan(produced);
    produce(50);
    await bridge.restart();
    produce(50);
    await page.waitForFunction((n) => (window as any).received.length >= n, produced);
    expect(await page.evaluate(() => (window as any).received)).toEqual(
      Array.from({ length: produced }, (_, k) => k + 1),
    );
  });

  it('reports a refusal instead of retrying forever: wrong token (401), origin not allowed (403)', async ({
    startStack,
  }) => {
    const stack = await startStack({ token: 'right' });
    const page = await openPage();
    const refusal = (url: string) =>
      page.evaluate(async (url) => {
        const client = new (window as any).bus.BridgeClient(url);
        const error = await client.whenConnected().then(
          () => null,
          (e: any) => ({ name: e.name, status: e.status }),
        );
        return { error, state: client.state };
      }, url);
    expect(await refusal(`ws://127.0.0.1:${stack.bridge.port}/?token=wrong`)).toEqual({
      error: { name: 'BridgeRefused', status: 401 },
      state: 'refused',
    });
    const strict = await startStack({ token: 'right', origins: ['https://app.example'] });
    expect(await refusal(strict.bridge.url)).toEqual({
      error: { name: 'BridgeRefused', status: 403 },
      state: 'refused',
    });
  });
});
