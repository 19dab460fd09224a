// A DataProcessingChannel on real Web Workers in Chromium, the page served by Vite's dev server.
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.js';
import type { WorkersReport } from './fixtures/workers/main.js';
import { type ServedPage, serveSourcePage } from './vite-page.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const REPO = here('../..');

let served: ServedPage;
let browser: Browser;
let url: string;

beforeAll(async () => {
  // The page and its worker import the package by name; here that means the sources.
  served = await serveSourcePage(here('./fixtures/workers'), REPO);
  url = served.url;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await served?.close();
});

describe('DataProcessingChannel on Web Workers (Chromium)', () => {
  it('spreads work over the workers, reports a throwing handler and crashed workers, transfers buffers', async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    const report = await page.evaluate(() =>
      (window as unknown as { runWorkers(): Promise<WorkersReport> }).runWorkers(),
    );
    await page.close();

    // Results: every square, right, computed in a worker.
    expect(report.squares.map((s) => s.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, n) => n));
    for (const s of report.squares) expect(s.square).toBe(s.n * s.n);
    // More than one worker did work, by the workers' own ids and by the channel's count.
    expect(new Set(report.squares.map((s) => s.worker)).size).toBe(2);
    expect(report.perWorker).toHaveLength(2);
    expect(report.perWorker.every((n) => n > 0)).toBe(true);
    // The 1 MiB buffer was moved to the worker, not copied.
    expect(report.bufferLength).toBe(1 << 20);
    expect(report.senderByteLength).toBe(0);
    // One error event for the throwing message, and one for each message in flight when its
    // worker died: closed itself, or an uncaught error.
    expect(report.errors).toEqual([
      { type: 'throw', message: 'refused this one' },
      { type: 'close', message: expect.stringMatching(/worker \d died: closed itself/) },
      { type: 'uncaught', message: expect.stringMatching(/worker \d died: uncaught .*uncaught in worker/) },
    ]);
    // The pool replaced the closed worker and kept serving; every message gave exactly one event.
    expect(report.afterCrash.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(report.events).toBe(60 + 2 + 2 + 10);
    expect(pageErrors).toEqual([]);
  });
});
