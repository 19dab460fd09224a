// The demo, end to end: the real `npm start` stack (SocketServer, bridge, Vite) on loopback,
// driven by clicking in Debian's Chromium, plus a message sent from the terminal CLI.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, Locator, Page } from 'playwright-core';
import { preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.js';

const run = promisify(execFile);
const SHOTS = 'test-output/screenshots';
const TOUR_VIEWPORT = { width: 1280, height: 900 };
/** The tour's machine has two cores, whatever runs the test: its 1…3 sweep then goes past them. */
const CORES = 2;

let stack: ChildProcess;
let output = '';
let pageUrl: URL;
let browser: Browser;
let page: Page;

/** Starts `npm start`'s script (already built by pretest:browser) and waits for its URL. */
function startStack(): Promise<URL> {
  output = '';
  stack = spawn(process.execPath, ['dist/scripts/start.js', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /page\s+(http:\/\/\S+)/.exec(output);
      if (match) resolve(new URL(match[1]!));
    };
    stack.stdout!.on('data', onData);
    stack.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    stack.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
}

const text = (testid: string) => page.getByTestId(testid);

/**
 * The page never scrolls sideways, at a phone's width (390 px) and a desktop's (1,400 px); the
 * message names what sticks out. The viewport goes back to the tour's afterwards.
 */
async function expectNoSideScroll(state: string): Promise<void> {
  for (const width of [390, 1400]) {
    await page.setViewportSize({ width, height: TOUR_VIEWPORT.height });
    const { scrollWidth, clientWidth, wider } = await page.evaluate(() => {
      const root = document.documentElement;
      const outside = [...document.querySelectorAll('body *')].filter(
        (element) => element.getBoundingClientRect().right > root.clientWidth,
      );
      const names = outside.slice(0, 5).map((element) => `${element.tagName.toLowerCase()}.${element.className}`);
      return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, wider: names };
    });
    expect(scrollWidth, `${state}, ${width} px wide: ${wider.join(', ')} stick out`).toBeLessThanOrEqual(clientWidth);
  }
  await page.setViewportSize(TOUR_VIEWPORT);
}

/** What a log's lines start with (`#3` in-page, `id 1:7` from the backend), in order. */
async function marks(log: Locator, kind: '#' | 'id '): Promise<string[]> {
  const lines = (await log.innerText()).split('\n');
  return lines.flatMap((line) => (line.startsWith(kind) ? [line.slice(kind.length).split(' ')[0]!] : []));
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  pageUrl = await startStack();
  browser = await launchChromium();
  // Clipboard permissions: the tour reads back what a copy button copied.
  page = await browser.newPage({ viewport: TOUR_VIEWPORT, permissions: ['clipboard-read', 'clipboard-write'] });
  await page.addInitScript(
    (cores) => Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => cores }),
    CORES,
  );
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(pageUrl.href);
  expect(problems).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  if (stack && stack.exitCode === null && stack.signalCode === null) {
    stack.kill('SIGINT');
    await new Promise((resolve) => stack.once('exit', resolve));
  }
});

describe('the demo page', () => {
  it('shows the bridge connection state and marks a wrong token as refused', async () => {
    await expect.poll(() => text('connection-state').getAttribute('data-state')).toBe('connected');
    await expectNoSideScroll('initial');
    const other = await browser.newPage();
    const wrong = new URL(pageUrl);
    wrong.searchParams.set('token', 'not-the-token');
    await other.goto(wrong.href);
    await expect.poll(() => other.getByTestId('connection-state').getAttribute('data-state')).toBe('refused');
    await other.close();
  });

  it('panel 1: listeners stream what is dispatched and broadcast; alice and bob talk', async () => {
    await text('bus-add').click();
    await text('bus-add').click();
    await text('bus-type').fill('greeting');
    await text('bus-payload').fill('{"n": 1}');
    await text('bus-send').click();
    await expect.poll(() => text('bus-log-1').innerText()).toContain('greeting');
    await expect.poll(() => text('bus-log-2').innerText()).toContain('greeting');
    await text('bus-target').selectOption('2');
    await text('bus-type').fill('only-two');
    await text('bus-send').click();
    await expect.poll(() => text('bus-log-2').innerText()).toContain('only-two');
    expect(await text('bus-log-1').innerText()).not.toContain('only-two');
    // In-page events have no id: each log numbers what it received, once each, in order.
    expect(await text('bus-log-1').innerText()).toMatch(/^#1 {2}greeting {2}\{"n":1\}$/m);
    expect(await marks(text('bus-log-1'), '#')).toEqual(['1']);
    expect(await marks(text('bus-log-2'), '#')).toEqual(['1', '2']);
    expect(await text('bus-log-2').innerText()).toMatch(/^#2 {2}only-two/m);

    await text('alice-bob-run').click();
    await expect.poll(() => text('alice-log').innerText()).toContain('stopped');
    await expect.poll(() => text('bob-log').innerText()).toContain('stopped');
    expect(await text('alice-log').innerText()).toMatch(/hello[\s\S]*stop/);
    expect(await text('bob-log').innerText()).toMatch(/hello_ack[\s\S]*stop/);
    expect(await marks(text('alice-log'), '#')).toEqual(['1', '2']);
    await text('panel-bus').screenshot({ path: `${SHOTS}/bus.png`, animations: 'disabled' });
    await expectNoSideScroll('panel 1 with streams showing messages');
  });

  it('panel 2: tiles render on several Web Workers, the failing tile is marked and leads to its error', async () => {
    expect(await text('workers-placeholder').innerText()).toBe('Render to see the image');
    expect(await text('workers-placeholder').isVisible()).toBe(true);
    await text('workers-count').fill('2');
    await text('workers-run').click();
    await expect
      .poll(() => text('workers-status').getAttribute('data-workers-used'), { timeout: 60_000 })
      .not.toBeNull();
    expect(await text('workers-placeholder').isVisible()).toBe(false);
    expect(Number(await text('workers-status').getAttribute('data-workers-used'))).toBeGreaterThan(1);
    expect(await text('workers-errors').innerText()).toContain('poisoned tile');
    expect(await text('workers-status').innerText()).toMatch(/1 failed/);
    const chartRows = () =>
      text('workers-chart')
        .locator('.bar-row')
        .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-workers')));
    expect(await chartRows()).toEqual(['2']);
    // The last run's messages per worker: one count per worker, every tile counted once.
    const perWorker = async () =>
      [...(await text('workers-per-worker').innerText()).matchAll(/worker \d+: (\d+)/g)].map((match) =>
        Number(match[1]),
      );
    expect(await perWorker()).toHaveLength(2);
    expect((await perWorker()).reduce((sum, n) => sum + n)).toBe(198);
    expect(await text('workers-cores-note').isVisible()).toBe(false);
    await expectNoSideScroll('after rendering, with the failed tile');

    // The failed tile is marked on the image, named in its error, and leads to it.
    const failed = text('workers-failed-tile');
    expect(await failed.count()).toBe(1);
    const errorId = (await failed.getAttribute('href'))!.slice(1);
    const errorLine = text('workers-errors').locator(`[id="${errorId}"]`);
    expect(await errorLine.innerText()).toMatch(/^✕ Tile \(\d+, \d+\) failed: poisoned tile/);
    expect(await failed.getAttribute('title')).toBe((await errorLine.innerText()).slice(2));
    await failed.click();
    expect(await errorLine.evaluate((line) => line === document.activeElement)).toBe(true);
    await expectNoSideScroll('after following the failed tile to its error');

    // 0 workers is refused, with the reason, and nothing runs.
    await text('workers-count').fill('0');
    await text('workers-run').click();
    expect(await text('workers-status').innerText()).toBe(
      "Workers must be a whole number from 1 to 16, not '0': nothing ran.",
    );
    await text('workers-sweep').click();
    expect(await chartRows()).toEqual(['2']);

    // The sweep times 1…N for the N in the box (more than this machine's cores, too), in a chart of its own.
    await text('workers-count').fill('3');
    expect(await text('workers-sweep').innerText()).toBe('Time 1…3 workers');
    await text('workers-sweep').click();
    await expect.poll(() => text('workers-run').isEnabled(), { timeout: 120_000 }).toBe(true);
    expect(await chartRows()).toEqual(['1', '2', '3']);
    // Speed-up over 1 worker on each bar; past the (two) cores, a note says more workers is slower.
    const speedUps = await text('workers-speed-up').allInnerTexts();
    expect(speedUps[0]).toBe('1.0×');
    for (const speedUp of speedUps) expect(speedUp).toMatch(/^\d+\.\d×$/);
    expect(speedUps).toHaveLength(3);
    expect(await text('workers-cores-note').innerText()).toContain('More workers than cores is slower');
    expect(await text('workers-cores-note').innerText()).toContain(`this machine has ${CORES}`);
    expect(await perWorker()).toHaveLength(3);
    expect((await perWorker()).reduce((sum, n) => sum + n)).toBe(198);
    await expectNoSideScroll('after the sweep');
    await text('panel-workers').screenshot({ path: `${SHOTS}/workers.png`, animations: 'disabled' });
    await text('workers-count').fill('1');
    expect(await text('workers-sweep').innerText()).toBe('Time 1…1 worker');
    await text('workers-sweep').click();
    await expect.poll(() => text('workers-run').isEnabled(), { timeout: 60_000 }).toBe(true);
    expect(await chartRows()).toEqual(['1']);
  });

  it('panel 3: a backend channel driven through the bridge, and a message from the terminal CLI', async () => {
    await text('remote-create').click();
    await expect.poll(() => text('remote-channel').innerText()).toMatch(/^\d+$/);
    const channelId = await text('remote-channel').innerText();
    await expectNoSideScroll('after creating a channel');
    // Each command line has a copy button that copies exactly that line.
    const terminalLine = text('remote-terminal').locator('.command');
    const command = await terminalLine.locator('code').innerText();
    expect(command).toMatch(new RegExp(`^npx eric-bus send --socket \\S+ broadcast ${channelId} hello`));
    await terminalLine.getByRole('button', { name: 'Copy this command' }).click();
    await expect.poll(() => terminalLine.getByRole('button').innerText()).toBe('copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(command);
    expect(await text('remote-curl').getByRole('button', { name: 'Copy this command' }).count()).toBe(3);
    await text('remote-add').click();
    await expect.poll(() => text('remote-listeners').locator('.card').count()).toBe(1);
    await text('remote-add').click();
    await expect.poll(() => text('remote-listeners').locator('.card').count()).toBe(2);
    await text('remote-watch').click();
    await expect.poll(() => text('remote-listeners').locator('.card').count()).toBe(3);
    const listenerLog = text('remote-listeners').locator('.log').first();
    const watchLog = text('remote-listeners').locator('.log').nth(2);
    await text('remote-type').fill('ping');
    await text('remote-send').click();
    await expect.poll(() => listenerLog.innerText()).toContain('ping');
    await expect.poll(() => watchLog.innerText()).toContain('ping');
    await text('remote-target').selectOption({ label: 'listener 2' });
    await text('remote-type').fill('just-two');
    await text('remote-send').click();
    await expect.poll(() => text('remote-listeners').locator('.log').nth(1).innerText()).toContain('just-two');
    expect(await listenerLog.innerText()).not.toContain('just-two');

    const socket = pageUrl.searchParams.get('socket')!;
    await run(process.execPath, [
      'dist/bridge/cli/main.js',
      'send',
      '--socket',
      socket,
      'broadcast',
      channelId,
      'from-terminal',
      '{"shell": true}',
    ]);
    await expect.poll(() => listenerLog.innerText()).toContain('from-terminal');
    // Backend streams show the id the server gave each event (opaque): one per event, none twice.
    const ids = await marks(listenerLog, 'id ');
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    expect(await listenerLog.innerText()).toMatch(/^id \S+ {2}ping {2}\{"from":"page"\}$/m);
    await expect.poll(() => marks(watchLog, 'id ')).toHaveLength(2);

    // The browser's own EventSource on a backend listener, through the bridge's HTTP face.
    await text('remote-sse-add').click();
    await expect.poll(() => text('remote-listeners').locator('.card.sse').count()).toBe(1);
    const sseLog = text('remote-listeners').locator('.card.sse .log');
    await expect.poll(() => sseLog.innerText()).toContain('EventSource open');
    await text('remote-target').selectOption({ label: 'everyone (broadcast)' });
    await text('remote-type').fill('ping');
    await text('remote-send').click();
    await expect.poll(() => sseLog.innerText()).toMatch(/^id \S+ {2}ping {2}\{"from":"page"\}$/m);
    // The printed curl line, run as a user would paste it: its message reaches both kinds of stream.
    const curlLines = await text('remote-curl').locator('code').allInnerTexts();
    expect(curlLines).toHaveLength(3);
    await run('sh', ['-c', `${curlLines[0]!} --fail --silent`]);
    await expect.poll(() => sseLog.innerText()).toMatch(/hello {2}\{"from":"curl"\}/);
    await expect.poll(() => listenerLog.innerText()).toContain('"from":"curl"');
    await expectNoSideScroll('with streams showing messages');
    await text('panel-remote').screenshot({ path: `${SHOTS}/remote.png`, animations: 'disabled' });
    await page.screenshot({ path: `${SHOTS}/page.png`, fullPage: true, animations: 'disabled' });
    await page.setViewportSize({ width: 390, height: TOUR_VIEWPORT.height });
    await page.screenshot({ path: `${SHOTS}/page-390px.png`, fullPage: true, animations: 'disabled' });
    await page.setViewportSize(TOUR_VIEWPORT);
  });

  it('panel 3: a channel removed from a terminal shows as removed, its buttons disabled with the reason', async () => {
    const socket = pageUrl.searchParams.get('socket')!;
    const removeFromTerminal = (id: string) =>
      run(process.execPath, ['dist/bridge/cli/main.js', 'send', '--socket', socket, 'remove-channel', id]);
    const panel = text('panel-remote');
    const channelId = await text('remote-channel').innerText();
    expect(await panel.getAttribute('data-channel')).toBe('live');

    // With streams open, their end tells the page: it asks the backend and learns the channel is gone.
    await removeFromTerminal(channelId);
    await expect.poll(() => panel.getAttribute('data-channel')).toBe('removed');
    expect(await text('remote-channel').innerText()).toBe(`${channelId} (removed)`);
    for (const button of ['remote-add', 'remote-watch', 'remote-sse-add', 'remote-send']) {
      expect(await text(button).isDisabled()).toBe(true);
      expect(await text(button).getAttribute('title')).toContain(`Channel ${channelId} no longer exists`);
    }
    expect(await text('remote-status').innerText()).toMatch(
      new RegExp(`^Channel ${channelId} no longer exists on the backend .*Create a new channel`),
    );
    // Two listeners and a watcher through the library, and the EventSource, which closes at _eric_channel_closed.
    await expect.poll(() => text('remote-listeners').locator('.card.ended').count()).toBe(4);
    await panel.screenshot({ path: `${SHOTS}/remote-removed.png`, animations: 'disabled' });

    // Without a stream, the next click finds out, and says so instead of doing nothing.
    await text('remote-create').click();
    await expect.poll(() => panel.getAttribute('data-channel')).toBe('live');
    const second = await text('remote-channel').innerText();
    expect(second).not.toBe(channelId);
    expect(await text('remote-send').isEnabled()).toBe(true);
    await removeFromTerminal(second);
    await text('remote-send').click();
    await expect.poll(() => panel.getAttribute('data-channel')).toBe('removed');
    expect(await text('remote-send').isDisabled()).toBe(true);
    expect(await text('remote-status').innerText()).toContain(`Channel ${second} no longer exists`);

    await text('remote-create').click();
    await expect.poll(() => panel.getAttribute('data-channel')).toBe('live');
    await text('remote-add').click();
    await expect.poll(() => text('remote-status').innerText()).toMatch(/^Listener \d+ added and streaming\.$/);
  });

  it('a copy button copies without the Clipboard API too, as over a LAN address (not a secure context)', async () => {
    const tab = await browser.newPage();
    try {
      await tab.addInitScript(() => Object.defineProperty(navigator, 'clipboard', { value: undefined }));
      await tab.goto(pageUrl.href);
      await expect.poll(() => tab.getByTestId('remote-create').isEnabled()).toBe(true);
      await tab.getByTestId('remote-create').click();
      const line = tab.getByTestId('remote-curl').locator('.command').nth(1);
      await expect.poll(() => line.locator('code').innerText()).toMatch(/^curl -X POST .*\/listeners' -H/);
      await line.getByRole('button', { name: 'Copy this command' }).click();
      await expect.poll(() => line.getByRole('button').innerText()).toBe('copied');
      // Read back on the tour's page, which may use the clipboard.
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await line.locator('code').innerText());
    } finally {
      await tab.close();
    }
  });

  it('two tabs share one connection: the first holds it, the second goes through it, then takes over', async () => {
    const context = await browser.newContext();
    try {
      const [first, second] = [await context.newPage(), await context.newPage()];
      await first.goto(pageUrl.href);
      await expect.poll(() => first.getByTestId('tab-share').getAttribute('data-holding')).toBe('true');
      await second.goto(pageUrl.href);
      await expect.poll(() => second.getByTestId('connection-state').getAttribute('data-state')).toBe('connected');
      expect(await second.getByTestId('tab-share').getAttribute('data-holding')).toBe('false');
      expect(await second.getByTestId('tab-share').innerText()).toContain('another tab');
      await first.close();
      await expect.poll(() => second.getByTestId('tab-share').getAttribute('data-holding')).toBe('true');
      await expect.poll(() => second.getByTestId('connection-state').getAttribute('data-state')).toBe('connected');
    } finally {
      await context.close();
    }
  });

  it('Ctrl-C stops the whole stack and removes the socket file', async () => {
    const socket = pageUrl.searchParams.get('socket')!;
    expect(existsSync(socket)).toBe(true);
    stack.kill('SIGINT');
    const code = await new Promise((resolve) => stack.once('exit', resolve));
    expect(code).toBe(0);
    expect(existsSync(socket)).toBe(false);
  });

  it('panel 3 after the backend has gone: says it is reconnecting, and its buttons are disabled with why', async () => {
    const panel = text('panel-remote');
    await expect.poll(() => panel.getAttribute('data-connection')).toBe('reconnecting');
    expect(await text('connection-state').getAttribute('data-state')).toBe('reconnecting');
    const why = 'The bridge does not answer (was the backend stopped?)';
    expect(await text('remote-status').innerText()).toContain(why);
    expect(await text('remote-status').innerText()).not.toContain('added and streaming');
    for (const button of ['remote-create', 'remote-add', 'remote-watch', 'remote-send']) {
      expect(await text(button).isDisabled()).toBe(true);
      expect(await text(button).getAttribute('title')).toContain(why);
    }
    await panel.screenshot({ path: `${SHOTS}/remote-reconnecting.png`, animations: 'disabled' });
  });

  it('SIGTERM stops it the same way', async () => {
    const url = await startStack();
    const socket = url.searchParams.get('socket')!;
    expect(existsSync(socket)).toBe(true);
    stack.kill('SIGTERM');
    const code = await new Promise((resolve) => stack.once('exit', resolve));
    expect(code).toBe(0);
    expect(existsSync(socket)).toBe(false);
  });
});

describe('the static demo from npm run build', () => {
  it('works without a backend: the bus and the workers run, the remote panel says how to start a bridge', async () => {
    // dist/demo was built by pretest:browser (npm run build).
    const server = await preview({
      build: { outDir: 'dist/demo' },
      preview: { host: '127.0.0.1', port: 0 },
      logLevel: 'warn',
    });
    try {
      const tab = await browser.newPage();
      await tab.goto(server.resolvedUrls!.local[0]!);
      await expect.poll(() => tab.getByTestId('connection-state').innerText()).toContain('not configured');
      await expect.poll(() => tab.getByTestId('remote-missing').innerText()).toContain('npm start');
      expect(await tab.getByTestId('opened-from-disk').isHidden()).toBe(true);
      await tab.getByTestId('workers-run').click();
      await expect
        .poll(() => tab.getByTestId('workers-status').getAttribute('data-workers-used'), { timeout: 60_000 })
        .toBe('2');
      await tab.close();
    } finally {
      await new Promise<void>((resolve, reject) =>
        server.httpServer.close((error) => (error ? reject(error) : resolve())),
      );
    }
  });

  it('opened from disk (file://), where its scripts are blocked, it says to serve it', async () => {
    const tab = await browser.newPage();
    try {
      await tab.goto(pathToFileURL(resolve('dist/demo/index.html')).href);
      expect(await tab.getByTestId('opened-from-disk').isVisible()).toBe(true);
      expect(await tab.getByTestId('opened-from-disk').innerText()).toContain('npx vite preview');
    } finally {
      await tab.close();
    }
  });
});
