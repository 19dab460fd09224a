// The worker benchmarks in Chromium, on Web Workers: the page (bench/browser/) is served by Vite's
// dev server and driven by playwright-core. Skipped, with a note, where Chromium is missing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_PATH, launchChromium } from '../test/browser/chromium.js';
import { serveSourcePage } from '../test/browser/vite-page.js';
import type { BrowserFigures } from './browser/main.js';
import { printTable, printTargets, times } from './table.js';

// Run from dist/bench/: the page's sources are in the repository's bench/browser/.
const REPO = fileURLToPath(new URL('../..', import.meta.url));

if (!existsSync(CHROMIUM_PATH)) {
  console.log(`\nBrowser worker benchmark skipped: no Chromium at ${CHROMIUM_PATH}`);
} else {
  const served = await serveSourcePage(join(REPO, 'bench/browser'), REPO);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(served.url);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    const { cpu, overhead } = await page.evaluate(() =>
      (window as unknown as { benchWorkers(): Promise<BrowserFigures> }).benchWorkers(),
    );
    printTable(
      `DataProcessingChannel in Chromium, CPU-bound: 400 messages × ${(cpu.main / 400).toFixed(2)} ms ` +
        'of computation (median of 3)',
      ['where', 'wall time', 'speed-up vs 1 worker'],
      [
        ['main thread (no worker)', `${cpu.main.toFixed(0)} ms`, `${(cpu.one / cpu.main).toFixed(2)}×`],
        ['1 Web Worker', `${cpu.one.toFixed(0)} ms`, '1.00×'],
        ['2 Web Workers', `${cpu.two.toFixed(0)} ms`, `${(cpu.one / cpu.two).toFixed(2)}×`],
        [
          'bound: 2 plain comlink workers, work split by hand',
          `${cpu.handSplit.toFixed(0)} ms`,
          `${(cpu.one / cpu.handSplit).toFixed(2)}×`,
        ],
      ],
    );
    const perMessage = (ms: number) => `${((ms * 1000) / 100_000).toFixed(2)} µs`;
    printTargets([{ what: 'speed-up at 2 Web Workers', value: cpu.one / cpu.two, atLeast: 1.8, format: times }]);
    printTable(
      'DataProcessingChannel in Chromium, trivial handler: 100,000 messages on 1 Web Worker (median of 5)',
      ['path', 'per message', 'vs batched'],
      [
        ['eric-bus, batched (dispatch + processQueue)', perMessage(overhead.batched), '1.00×'],
        [
          'plain comlink, one call per message, all in flight',
          perMessage(overhead.plain),
          `${(overhead.plain / overhead.batched).toFixed(1)}×`,
        ],
      ],
    );
    printTargets([
      {
        what: 'a plain comlink call vs the batched cost per message',
        value: overhead.plain / overhead.batched,
        atLeast: 10,
        format: times,
      },
    ]);
  } finally {
    await browser.close();
    await served.close();
  }
}
