// Tabs in Chromium: a backend stream read by a tab through the tab that holds the shared WebSocket
// (BridgeClient's shareAcrossTabs), against the same stream read in the holding tab itself, in the
// same run; then how long the other tab waits for a new WebSocket when the holder closes. The pages
// (test/browser/fixtures/tabs/) are served by Vite's dev server and driven by playwright-core.
// Skipped, with a note, where Chromium is missing.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { SocketServer, WebSocketBridge } from '../bridge/index.js';
import { Message } from '../src/index.js';
import { CHROMIUM_PATH, launchChromium } from '../test/browser/chromium.js';
import type { TabWindow } from '../test/browser/fixtures/tabs/main.js';
import { serveSourcePage } from '../test/browser/vite-page.js';
import { median, percent, printTable, printTargets, rate } from './table.js';

// Run from dist/bench/: the page's sources are in the repository.
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const N = 20_000;
const RUNS = 5;

if (!existsSync(CHROMIUM_PATH)) {
  console.log(`\nTabs benchmark skipped: no Chromium at ${CHROMIUM_PATH}`);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'eric-bus-bench-'));
  const server = new SocketServer(join(dir, 'bus.sock'));
  await server.listen();
  let acceptedAt: number[] = [];
  const ignore = () => {};
  const bridge = await WebSocketBridge.start({
    socketPath: join(dir, 'bus.sock'),
    port: 0,
    logger: {
      info: (message: string) => {
        if (message.startsWith('bridge: accepted a WebSocket')) acceptedAt.push(performance.now());
      },
      warn: ignore,
      error: ignore,
    },
  });
  const served = await serveSourcePage(join(REPO, 'test/browser/fixtures/tabs'), REPO);
  const browser = await launchChromium();
  try {
    const channel = server.channels.add();
    const messages = Array.from({ length: N }, (_, i) => new Message('tick', { n: i, text: 'hello from the backend' }));
    /** A listener with N events waiting, filled in process so filling is not what is measured. */
    const filled = (): string => {
      const listener = channel.addListener();
      for (const message of messages) channel.dispatch(listener.id, message);
      return listener.id;
    };
    const context = await browser.newContext();
    const open = async (): Promise<Page> => {
      const page = await context.newPage();
      await page.goto(served.url);
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
      await page.evaluate(({ url }) => (window as unknown as TabWindow).share(url, 'bench'), { url: bridge.url });
      await page.waitForFunction(() => (window as unknown as TabWindow).states.includes('connected'));
      return page;
    };
    const holder = await open();
    const other = await open();
    const holding = (page: Page) =>
      page.evaluate(() => (window as unknown as TabWindow).client!.sharedAcrossTabs?.holding);
    if (!(await holding(holder)) || (await holding(other)) || bridge.connections !== 1)
      throw new Error('tabs bench: expected the first tab to hold the one WebSocket');
    const time = (page: Page) =>
      page.evaluate(({ c, l, n }) => (window as unknown as TabWindow).timeStream(c, l, n), {
        c: channel.id,
        l: filled(),
        n: N,
      });
    await time(holder); // warm-up, both ways
    await time(other);
    const inHolder: number[] = [];
    const relayed: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      inHolder.push(await time(holder));
      relayed.push(await time(other));
    }
    const holderRate = N / (median(inHolder) / 1000);
    const relayedRate = N / (median(relayed) / 1000);

    // The holder closes: how long until the other tab's new WebSocket reaches the bridge, and its client is connected.
    acceptedAt = [];
    const seen = await other.evaluate(() => (window as unknown as TabWindow).states.length);
    const closedAt = performance.now();
    await holder.close();
    await other.waitForFunction(
      (seen) => (window as unknown as TabWindow).states.slice(seen).includes('connected'),
      seen,
    );
    const connectedAt = performance.now();
    const takeover = (acceptedAt[0] ?? Number.NaN) - closedAt;

    printTable(
      `Tabs in Chromium: ${N.toLocaleString('en')} events of one backend listener, streamed through the bridge ` +
        `(median of ${RUNS})`,
      ['reader', 'events/s', 'vs in the holding tab'],
      [
        ['the holding tab (its own WebSocket)', rate(holderRate), '100 %'],
        ['another tab, relayed by the holding tab', rate(relayedRate), percent(relayedRate / holderRate)],
      ],
    );
    printTable(
      'The holding tab closes',
      ['until', 'ms'],
      [
        ['the new WebSocket reaches the bridge', takeover.toFixed(0)],
        ["the other tab's client is connected again", (connectedAt - closedAt).toFixed(0)],
        ['WebSockets the bridge accepted for it', String(acceptedAt.length)],
      ],
    );
    printTargets([
      {
        what: 'events relayed to another tab vs in the holding tab',
        value: relayedRate / holderRate,
        atLeast: 0.5,
        format: percent,
      },
    ]);
    await context.close();
  } finally {
    await browser.close();
    await served.close();
    await bridge.close();
    await server.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}
