// The bridge's Server-Sent Events in a real browser: a page that uses nothing but Chromium's own
// EventSource streams a backend listener; the bridge PROCESS is killed (SIGKILL) with events in
// flight and started again; EventSource reconnects by itself with Last-Event-ID, and the bridge
// resumes the listener from there (docs/protocol.md, "Event ids, histories and resume", and
// docs/protocol.md, "The HTTP face"). Every message is counted: none lost, none twice, in order.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import { SocketClient, WebSocketBridge } from '../../bridge/index.js';
import { Message } from '../../src/index.js';
import { it } from '../node/helpers/fixtures.js';
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

/** The bridge's HTTP origin from the WebSocket URL it prints. */
const httpOrigin = (wsUrl: string) => `http://${new URL(wsUrl).host}`;

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

  beforeAll(async () => {
    site = await servePage();
    browser = await launchChromium();
  });
  afterEach(async () => {
    await tab?.close();
    tab = undefined;
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => site.server.close(resolve));
  });

  async function openTab(): Promise<Page> {
    tab = await browser.newPage();
    await tab.goto(`${site.origin}/`);
    return tab;
  }

  it('reconnects by itself after the bridge process is killed and restarted: each message once, in order', async ({
    server,
    registered: { c, l },
    startBridgeProcess,
  }) => {
    const bridge = await startBridgeProcess(server.path, TOKEN);
    const page = await openTab();
    const url = `${httpOrigin(bridge.url)}/channels/${c}/listeners/${l}/events?token=${TOKEN}`;
    await page.evaluate((url) => {
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
    const pageState = () => page.evaluate(() => (window as unknown as { state: PageState }).state);
    const received = () => page.evaluate(() => (window as unknown as { state: PageState }).state.received.length);

    const channel = server.channels.get(c);
    let produced = 0;
    const produce = (count: number) => {
      for (let k = 0; k < count; k++) channel.dispatch(l, new Message('n', produced++));
    };
    produce(2_000);
    await page.waitForFunction((n) => (window as any).state.received.length === n, produced);
    // The bridge is frozen, the server writes 300 more into its sockets, and it dies with them.
    await bridge.killMidStream(
      () => produce(300),
      () => channel.queueLength(l) === 0,
    );
    expect(await received()).toBeLessThan(produced);
    produce(200); // queued on the server while no bridge runs
    await bridge.restart();
    produce(200);
    await page.waitForFunction((n) => (window as any).state.received.length >= n, produced);

    const state = await pageState();
    expect(state.received.map((e) => e.n)).toEqual(Array.from({ length: produced }, (_, n) => n));
    expect(new Set(state.received.map((e) => e.id)).size).toBe(produced);
    expect(state.gaps).toBe(0);
    expect(state.opens).toBeGreaterThanOrEqual(2);
    expect(state.errors).toBeGreaterThanOrEqual(1);
    // Reconnecting (0 CONNECTING) after the kill, never given up (2 CLOSED).
    expect(state.state).toBe(0);
    await page.evaluate(() => (window as unknown as { source: EventSource }).source.close());
  });

  it("runs docs/bridge.md's EventSource snippet as written", async ({ startCli }) => {
    const guide = readFileSync(join(import.meta.dirname, '../../docs/bridge.md'), 'utf8');
    const snippets = [...guide.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const snippet = snippets.find((code) => code.includes('new EventSource('));
    expect(snippet).toBeDefined();
    // A fresh `eric-bus up` (its own process: ids start at 1), as the guide's session has it.
    const up = await startCli(
      ['up', '--port', '0', '--token', 'secret'],
      /socket server on (\S+)\n[\s\S]*bridge at (ws:\/\/\S+)/,
    );
    const [, socketPath, wsUrl] = up.match!;
    const direct = new SocketClient(socketPath!);
    const c = await direct.createChannel();
    const r = await direct.register(c);
    await direct.dispatch(c, r, 'hello', { n: 1 });
    await direct.broadcastMessage(c, 'news', 'to all');
    const page = await openTab();
    await page.evaluate(() => {
      const w = window as unknown as { logged: unknown[][] };
      w.logged = [];
      console.log = (...args: unknown[]) => void w.logged.push(args);
    });
    await page.addScriptTag({ content: snippet!.replace("'http://127.0.0.1:8765'", `'${httpOrigin(wsUrl!)}'`) });
    const logged = () => page.evaluate(() => (window as unknown as { logged: unknown[][] }).logged);
    await expect.poll(async () => (await logged()).length).toBeGreaterThanOrEqual(2);
    expect(await logged()).toEqual([
      ['hello', { n: 1 }, '1:1'],
      ['news', 'to all', '1:2'],
    ]);
    // Removing the listener ends the stream with _eric_channel_closed: the snippet closes its EventSource.
    // (The snippet's `const events` is a global of the page's scripts, not a property of window.)
    await direct.removeListener(c, r);
    await expect.poll(() => page.evaluate('events.readyState')).toBe(2);
  });

  it('moves to another bridge when its bridge drains, resuming with the last event id: each message once', async ({
    server,
    registered: { c, l },
  }) => {
    // Two bridges in front of one server, as several bridges stand in front of one Redis.
    const bridges = [
      await WebSocketBridge.start({ socketPath: server.path, port: 0, token: TOKEN }),
      await WebSocketBridge.start({ socketPath: server.path, port: 0, token: TOKEN }),
    ];
    try {
      const page = await openTab();
      const urls = bridges.map((b) => `${httpOrigin(b.url)}/channels/${c}/listeners/${l}/events?token=${TOKEN}`);
      // The page's own failover: on an error, the next bridge, after the last id it got (a new
      // EventSource cannot set the Last-Event-ID header: the bridge takes ?lastEventId= as well).
      await page.evaluate((urls) => {
        const w = window as unknown as { state: PageState & { urls: string[] }; source: EventSource };
        const state = { received: [], gaps: 0, opens: 0, errors: 0, state: 0, urls: [] } as PageState & {
          urls: string[];
        };
        w.state = state;
        let at = 0;
        let last = '';
        const open = () => {
          const url = new URL(urls[at % urls.length]!);
          if (last !== '') url.searchParams.set('lastEventId', last);
          state.urls.push(url.href);
          const source = new EventSource(url);
          w.source = source;
          source.addEventListener('n', (e) => {
            state.received.push({ n: JSON.parse(e.data), id: e.lastEventId });
            last = e.lastEventId;
          });
          source.addEventListener('_eric_gap', () => state.gaps++);
          source.onopen = () => state.opens++;
          source.onerror = () => {
            state.errors++;
            source.close();
            at++;
            if (at < 10) open();
          };
        };
        open();
      }, urls);
      const pageState = () =>
        page.evaluate(() => (window as unknown as { state: PageState & { urls: string[] } }).state);
      const channel = server.channels.get(c);
      let produced = 0;
      const produce = (count: number) => {
        for (let k = 0; k < count; k++) channel.dispatch(l, new Message('n', produced++));
      };
      produce(1_000);
      await page.waitForFunction((n) => (window as any).state.received.length >= n, 100);
      const draining = bridges[0]!.drain(5000);
      produce(500);
      await draining;
      produce(500);
      await page.waitForFunction((n) => (window as any).state.received.length >= n, produced);

      const state = await pageState();
      expect(state.received.map((e) => e.n)).toEqual(Array.from({ length: produced }, (_, n) => n));
      expect(state.gaps).toBe(0);
      expect(state.urls.length).toBe(2);
      expect(new URL(state.urls[1]!).searchParams.get('lastEventId')).not.toBeNull();
      expect(new URL(state.urls[1]!).host).toBe(new URL(urls[1]!).host);
      await page.evaluate(() => (window as unknown as { source: EventSource }).source.close());
    } finally {
      await Promise.all(bridges.map((b) => b.close()));
    }
  });
});
