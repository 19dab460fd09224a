// Tabs of one origin in one Chromium context, the pages served by Vite from the sources: one
// WebSocket to the bridge for every tab (BridgeClient's shareAcrossTabs), and TabChannel.
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import { SocketClient, signToken, WebSocketBridge } from '../../bridge/index.js';
import type { ServerLogger } from '../../bridge/log.js';
import { sleep, until } from '../node/helpers/async.js';
import { it } from '../node/helpers/fixtures.js';
import { hmacKeyFile } from '../node/helpers/tokens.js';
import { launchChromium } from './chromium.js';
import type { TabWindow } from './fixtures/tabs/main.js';
import { type ServedPage, serveSourcePage } from './vite-page.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

let served: ServedPage;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  served = await serveSourcePage(here('./fixtures/tabs'), here('../..'));
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await served?.close();
});
afterEach(async () => {
  await context?.close();
});

/** A fresh context: its pages are tabs of one browser profile, sharing locks and BroadcastChannels. */
async function newContext(): Promise<BrowserContext> {
  context = await browser.newContext();
  return context;
}

/** Opens a tab of the test page and waits until its module has run. */
async function openTab(): Promise<Page> {
  const page = await context.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(served.url);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  if (errors.length > 0) throw errors[0];
  return page;
}

/** A tab per listener, each sharing `name`'s connection to `url` and streaming its listener of `c`; once connected. */
async function sharingTabs(url: string, name: string, c: string, listeners: readonly string[]): Promise<Page[]> {
  const tabs: Page[] = [];
  for (const l of listeners) {
    const tab = await openTab();
    await tab.evaluate((a) => (window as unknown as TabWindow).share(a.url, a.name, a.c, a.l), { url, name, c, l });
    await tab.waitForFunction(() => (window as unknown as TabWindow).states.includes('connected'));
    tabs.push(tab);
  }
  return tabs;
}

/**
 * A bridge logger that counts the WebSockets the bridge accepted, the most it had open at once, and
 * the close codes of those that closed.
 */
function countingLogger(): { logger: ServerLogger; accepted: () => number; mostOpen: () => number; closes: number[] } {
  let accepted = 0;
  let mostOpen = 0;
  const closes: number[] = [];
  const ignore = () => {};
  return {
    logger: {
      info: (message: string) => {
        const open = /^bridge: accepted a WebSocket .* \((\d+) open\)$/.exec(message);
        if (open) {
          accepted++;
          mostOpen = Math.max(mostOpen, Number(open[1]));
        }
        const closed = /^bridge: WebSocket from .* closed \((\d+)\)$/.exec(message);
        if (closed) closes.push(Number(closed[1]));
      },
      warn: ignore,
      error: ignore,
    },
    accepted: () => accepted,
    mostOpen: () => mostOpen,
    closes,
  };
}

const received = (page: Page) => page.evaluate(() => (window as unknown as TabWindow).received);
const states = (page: Page) => page.evaluate(() => (window as unknown as TabWindow).states);
const count = (page: Page) => page.evaluate(() => (window as unknown as TabWindow).received.length);
const sequence = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

/** Closes a tab, or makes its renderer crash (the browser then releases its locks as for a close). */
async function goAway(page: Page, how: 'closes' | 'crashes'): Promise<void> {
  if (how === 'closes') return page.close();
  const crashed = new Promise((resolve) => page.once('crash', resolve));
  const cdp = await context.newCDPSession(page);
  void cdp.send('Page.crash').catch(() => {}); // never answered: the page is gone
  await crashed;
}

describe('BridgeClient shared across tabs (Chromium)', () => {
  for (const ending of ['closes', 'crashes'] as const)
    it(`three tabs, one WebSocket; holder ${ending} mid-stream: one new WebSocket, streams whole, in order`, async ({
      startStack,
    }) => {
      const bridgeLog = countingLogger();
      const stack = await startStack({ logger: bridgeLog.logger });
      const direct = new SocketClient(stack.backend.path);
      const c = await direct.createChannel();
      const [l1, l2, l3, l4] = [
        await direct.register(c),
        await direct.register(c),
        await direct.register(c),
        await direct.register(c),
      ];
      await newContext();
      const tabs = await sharingTabs(stack.bridge.url, 'test', c, [l1, l2, l3]);
      const [holder, b, cTab] = tabs as [Page, Page, Page];
      expect(bridgeLog.accepted()).toBe(1);
      expect(stack.bridge.connections).toBe(1);
      const channel = stack.backend.server.channels.get(c);
      await until(() => stack.backend.server.streams === 3, 'three streams open');

      let produced = 0;
      const produce = async (n: number) => {
        for (let k = 0; k < n; k++) {
          produced++;
          await Promise.all([direct.dispatch(c, l2, 'n', produced), direct.dispatch(c, l3, 'n', produced)]);
        }
      };
      await produce(200);
      await b.waitForFunction(() => (window as unknown as TabWindow).received.length > 50);
      // Close the holder while events flow to the other tabs through it.
      const flowing = produce(300);
      await goAway(holder, ending);
      // A command made while no tab holds the connection waits for the next one and is answered once.
      await b.waitForFunction(() => (window as unknown as TabWindow).states.includes('reconnecting'));
      const reply = await b.evaluate(
        ({ c, l4 }) => (window as unknown as TabWindow).client!.dispatch(c, l4, 'during', 1),
        { c, l4 },
      );
      await flowing;
      await produce(100);
      await b.waitForFunction((n) => (window as unknown as TabWindow).received.length >= n, produced);
      await cTab.waitForFunction((n) => (window as unknown as TabWindow).received.length >= n, produced);
      expect(await received(b)).toEqual(sequence(1, produced));
      expect(await received(cTab)).toEqual(sequence(1, produced));
      expect(reply).toBe('ack');
      expect(channel.queueLength(l4)).toBe(1);
      expect(bridgeLog.accepted()).toBe(2);
      expect(stack.bridge.connections).toBe(1);
      for (const tab of [b, cTab]) expect(await states(tab)).toEqual(['connected', 'reconnecting', 'connected']);
      direct.close();
    });

  it("the holder cancels a closed tab's streams; the other tabs' go on", async ({ startStack }) => {
    const stack = await startStack();
    const direct = new SocketClient(stack.backend.path);
    const c = await direct.createChannel();
    const [l1, l2] = [await direct.register(c), await direct.register(c)];
    await newContext();
    const tabs = await sharingTabs(stack.bridge.url, 'cancel', c, [l1, l2]);
    const [holder, follower] = tabs as [Page, Page];
    const channel = stack.backend.server.channels.get(c);
    await until(() => stack.backend.server.streams === 2, 'both streams open');
    await follower.close();
    await until(() => stack.backend.server.streams === 1, "the closed tab's stream cancelled");
    for (let n = 1; n <= 5; n++) await direct.dispatch(c, l2, 'n', n);
    for (let n = 1; n <= 5; n++) await direct.dispatch(c, l1, 'n', n);
    await holder.waitForFunction(() => (window as unknown as TabWindow).received.length === 5);
    expect(channel.queueLength(l2)).toBe(5);
    expect(await count(holder)).toBe(5);
    expect(stack.bridge.connections).toBe(1);
    direct.close();
  });
});

describe('BridgeClient shared across tabs: the state follows the shared connection (Chromium)', () => {
  it('every tab goes reconnecting and back when the bridge restarts; one WebSocket again; streams resume', async ({
    startStack,
  }) => {
    const stack = await startStack({ token: 'restart' });
    const port = stack.bridge.port;
    const direct = new SocketClient(stack.backend.path);
    const c = await direct.createChannel();
    const [l1, l2] = [await direct.register(c), await direct.register(c)];
    await newContext();
    const tabs = await sharingTabs(stack.bridge.url, 'restart', c, [l1, l2]);
    for (let n = 1; n <= 5; n++) await Promise.all([direct.dispatch(c, l1, 'n', n), direct.dispatch(c, l2, 'n', n)]);
    for (const tab of tabs) await tab.waitForFunction(() => (window as unknown as TabWindow).received.length === 5);
    await stack.bridge.close();
    for (const tab of tabs)
      await tab.waitForFunction(() => (window as unknown as TabWindow).states.includes('reconnecting'));
    for (let n = 6; n <= 10; n++) await Promise.all([direct.dispatch(c, l1, 'n', n), direct.dispatch(c, l2, 'n', n)]);
    const bridgeLog = countingLogger();
    stack.bridge = await WebSocketBridge.start({
      socketPath: stack.backend.path,
      port,
      token: 'restart',
      logger: bridgeLog.logger,
    });
    for (const tab of tabs) {
      await tab.waitForFunction(() => (window as unknown as TabWindow).received.length === 10);
      expect(await received(tab)).toEqual(sequence(1, 10));
      expect(await states(tab)).toEqual(['connected', 'reconnecting', 'connected']);
    }
    expect(bridgeLog.accepted()).toBe(1);
    direct.close();
  });

  it('a wrong token is refused in every tab', async ({ startStack }) => {
    const stack = await startStack({ token: 'right' });
    await newContext();
    for (let k = 0; k < 2; k++) {
      const tab = await openTab();
      await tab.evaluate(
        (url) => (window as unknown as TabWindow).share(url, 'refused'),
        stack.bridge.url.replace('right', 'wrong'),
      );
      await tab.waitForFunction(() => (window as unknown as TabWindow).states.includes('refused'));
    }
    expect(stack.bridge.connections).toBe(0);
  });
});

describe('BridgeClient shared across tabs with a token function (Chromium)', () => {
  it('two tabs, one WebSocket: tokens refresh, it expires (4401), reopens with a fresh token; a takeover', async ({
    startStack,
    dir,
  }) => {
    const bridgeLog = countingLogger();
    const { file, secret } = hmacKeyFile(dir);
    const stack = await startStack({ jwt: { keyFile: file }, logger: bridgeLog.logger });
    const direct = new SocketClient(stack.backend.path);
    const c = await direct.createChannel();
    const [l1, l2] = [await direct.register(c), await direct.register(c)];
    await newContext();
    // The application's token endpoint, as the tabs' token functions reach it: short-lived tokens of
    // one subject, or an outage, which lets the token on the shared WebSocket expire.
    let outage = false;
    const minted: string[] = [];
    await context.exposeFunction('mintToken', async () => {
      if (outage) throw new Error('the token service is down');
      const token = await signToken(secret, { sub: 'alice', grants: { channels: { [c]: ['l'] } }, ttlSeconds: 4 });
      minted.push(token);
      return token;
    });
    const tabs: Page[] = [];
    for (const l of [l1, l2]) {
      const tab = await openTab();
      await tab.evaluate(({ url, c, l }) => (window as unknown as TabWindow).shareSigned(url, 'signed', c, l), {
        url: `ws://127.0.0.1:${stack.bridge.port}/`,
        c,
        l,
      });
      await tab.waitForFunction(() => (window as unknown as TabWindow).states.includes('connected'));
      tabs.push(tab);
    }
    const [holder, other] = tabs as [Page, Page];
    expect(bridgeLog.accepted()).toBe(1);

    // Events flow to both tabs all along, paced so that the stream spans the tokens' lifetimes.
    let produced = 0;
    let producing = true;
    const producer = (async () => {
      for (let round = 0; producing && round < 10_000; round++) {
        produced++;
        await Promise.all([direct.dispatch(c, l1, 'n', produced), direct.dispatch(c, l2, 'n', produced)]);
        await sleep(10);
      }
    })();

    // Each tab refreshes its token twice (at 3/4 of each lifetime): the shared WebSocket outlives
    // the first tokens on the fresh ones the tabs sent on it.
    await until(() => minted.length >= 6, 'each tab refreshed its token twice');
    expect(bridgeLog.accepted()).toBe(1);
    expect(bridgeLog.closes).toEqual([]);

    // No fresh token: the bridge closes the shared WebSocket at the token's expiry (4401); every tab
    // takes it as an expired token and asks for a fresh one before reconnecting.
    outage = true;
    const expired = new Set(minted);
    for (const tab of tabs)
      await tab.waitForFunction(
        () =>
          (window as unknown as TabWindow).warnings.some((w) => w.includes('could not fetch a token for the bridge')),
        undefined,
        { timeout: 30_000 },
      );
    outage = false;
    for (const tab of tabs)
      await tab.waitForFunction(() => (window as unknown as TabWindow).states.at(-1) === 'connected', undefined, {
        timeout: 30_000,
      });
    producing = false;
    await producer;
    for (const tab of tabs) {
      await tab.waitForFunction((n) => (window as unknown as TabWindow).received.length >= n, produced);
      expect(await received(tab)).toEqual(sequence(1, produced));
      expect(await states(tab)).toEqual(['connected', 'reconnecting', 'connected']);
    }
    // One WebSocket at a time: the first, closed for its expired token, then one opened with a
    // token fetched after the expiry, by the same holder.
    expect(bridgeLog.accepted()).toBe(2);
    expect(bridgeLog.mostOpen()).toBe(1);
    expect(bridgeLog.closes).toEqual([4401]);
    const opened = await holder.evaluate(() => (window as unknown as TabWindow).opened);
    expect(opened).toHaveLength(2);
    expect(expired.has(new URL(opened[1]!).searchParams.get('token')!)).toBe(false);
    expect(await holder.evaluate(() => (window as unknown as TabWindow).closeCodes)).toEqual([4401]);
    expect(await other.evaluate(() => (window as unknown as TabWindow).opened)).toEqual([]);
    expect(stack.bridge.connections).toBe(1);

    // The holder closes: the other tab takes over, its hub opens the one WebSocket with the token
    // that tab gave it, and its stream goes on after its last event.
    // A closed page's renderer can still run for a moment after page.close() resolves, so the old
    // holder may forward some of these events before it goes: wait for the takeover itself too.
    await holder.close();
    for (let k = 0; k < 50; k++) await direct.dispatch(c, l2, 'n', ++produced);
    await other.waitForFunction(
      (n) => {
        const w = window as unknown as TabWindow;
        return w.received.length >= n && w.opened.length > 0 && w.states.length === 5;
      },
      produced,
      { timeout: 30_000 },
    );
    expect(await received(other)).toEqual(sequence(1, produced));
    const taken = await other.evaluate(() => (window as unknown as TabWindow).opened);
    expect(taken).toHaveLength(1);
    const takenToken = new URL(taken[0]!).searchParams.get('token')!;
    expect(minted).toContain(takenToken);
    expect(expired.has(takenToken)).toBe(false);
    expect(bridgeLog.accepted()).toBe(3);
    expect(bridgeLog.mostOpen()).toBe(1);
    expect(await states(other)).toEqual(['connected', 'reconnecting', 'connected', 'reconnecting', 'connected']);
    direct.close();
  });
});

describe('TabChannel (Chromium)', () => {
  const got = (page: Page) => page.evaluate(() => (window as unknown as TabWindow).got);
  const knows = (page: Page, n: number) =>
    page.waitForFunction((n) => (window as unknown as TabWindow).channel!.listenerIds().length === n, n);

  it('dispatch and broadcast reach other tabs, in order; unique ids; a closing tab takes its own', async () => {
    await newContext();
    const tabs = [await openTab(), await openTab(), await openTab()];
    const ids: string[] = [];
    for (const tab of tabs) ids.push(await tab.evaluate(() => (window as unknown as TabWindow).join('room')));
    expect(new Set(ids).size).toBe(3);
    for (const tab of tabs) await knows(tab, 3);
    const [a, b, c] = tabs as [Page, Page, Page];
    const [, idB, idC] = ids as [string, string, string];

    // A hundred dispatches from one tab to a listener in another: each resolves once queued there.
    await a.evaluate(
      async ({ idB, idC }) => {
        const { channel, bus } = window as unknown as TabWindow;
        for (let n = 1; n <= 100; n++) await channel!.dispatch(idB, new bus.Message('n', n));
        await channel!.dispatch(idC, new bus.Message('to-c', 'hi'));
      },
      { idB, idC },
    );
    await b.evaluate(() => {
      const { channel, bus } = window as unknown as TabWindow;
      return channel!.broadcast(new bus.Message('all', 'from b'));
    });
    for (const tab of tabs)
      await tab.waitForFunction(() => (window as unknown as TabWindow).got.some((e) => e.event === 'all'));
    expect(await got(a)).toEqual([{ event: 'all', data: 'from b' }]);
    expect(await got(b)).toEqual([
      ...sequence(1, 100).map((n) => ({ event: 'n', data: n })),
      { event: 'all', data: 'from b' },
    ]);
    expect(await got(c)).toEqual([
      { event: 'to-c', data: 'hi' },
      { event: 'all', data: 'from b' },
    ]);

    const rejection = (page: Page, id: string) =>
      page.evaluate(async (id) => {
        const { channel, bus } = window as unknown as TabWindow;
        return channel!.dispatch(id, new bus.Message('x')).then(
          () => 'resolved',
          (error: Error) => error.name,
        );
      }, id);
    expect(await rejection(a, 'nobody')).toBe('InvalidListenerException');

    // A closing tab takes its listener: the others see it as removed.
    await c.close();
    await knows(a, 2);
    await knows(b, 2);
    expect(await rejection(a, idC)).toBe('InvalidListenerException');
    expect(await a.evaluate(() => (window as unknown as TabWindow).channel!.listenerIds())).toEqual(
      expect.arrayContaining(ids.slice(0, 2)),
    );
  });

  it('a tab opened later learns the listeners there; removeListener from another tab ends a stream', async () => {
    await newContext();
    const first = await openTab();
    const idFirst = await first.evaluate(() => (window as unknown as TabWindow).join('late'));
    const later = await openTab();
    await later.evaluate(() => (window as unknown as TabWindow).join('late'));
    expect(await later.evaluate(() => (window as unknown as TabWindow).channel!.listenerIds().length)).toBe(2);
    await later.evaluate(async (id) => {
      const { channel, bus } = window as unknown as TabWindow;
      await channel!.dispatch(id, new bus.Message('hello', 'from later'));
      channel!.removeListener(id);
    }, idFirst);
    await first.waitForFunction(() => (window as unknown as TabWindow).got.length === 2);
    expect(await got(first)).toEqual([
      { event: 'hello', data: 'from later' },
      { event: '_eric_channel_closed', data: undefined },
    ]);
  });
});
