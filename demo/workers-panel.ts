import { DataProcessingChannel, MESSAGE_TYPE_INTERNAL_ERROR, Message, type ProcessingError } from '../src/index.js';
import { h, logLine } from './dom.js';
import { type RenderedTile, type Tile, tiles } from './mandelbrot.js';

const WIDTH = 720;
const HEIGHT = 440;
const TILE = 40;
const ITERATIONS = 3000;
/** The most workers the box accepts: past the cores they only queue, and each costs memory. */
const MAX_WORKERS = 16;

/** What one run measured. */
interface Run {
  workers: number;
  ms: number;
  /** Messages each worker handled. */
  perWorker: number[];
}

/** "1 worker", "3 workers". */
const workersText = (n: number) => `${n} worker${n > 1 ? 's' : ''}`;

/** A tile's message type names it: an error event carries the failed message's type, not its payload. */
const tileType = (tile: Tile) => `tile ${tile.x},${tile.y}`;

/** Where a tile sits on the image, in percent, so its mark follows the canvas as it scales. */
function tileBox(tile: Tile): string {
  const percent = (part: number, whole: number) => `${(100 * part) / whole}%`;
  return (
    `left: ${percent(tile.x, WIDTH)}; top: ${percent(tile.y, HEIGHT)}; ` +
    `width: ${percent(tile.size, WIDTH)}; height: ${percent(tile.size, HEIGHT)}`
  );
}

/** Panel 2: a Mandelbrot image cut into tiles, rendered on a DataProcessingChannel's Web Workers. */
export function workersPanel(): HTMLElement {
  const count = h('input', {
    type: 'number',
    min: 1,
    max: MAX_WORKERS,
    step: 1,
    value: 2,
    'aria-label': 'Workers',
    'data-testid': 'workers-count',
  });
  const poison = h('input', { type: 'checkbox', checked: true, 'data-testid': 'workers-poison' });
  const canvas = h('canvas', { width: WIDTH, height: HEIGHT, 'data-testid': 'workers-canvas' });
  const placeholder = h('p', { class: 'placeholder', 'data-testid': 'workers-placeholder' }, 'Render to see the image');
  const failedTiles = h('div', { class: 'failed-tiles' });
  const bar = h('div', { 'data-testid': 'workers-bar' });
  const status = h(
    'p',
    { class: 'hint', 'data-testid': 'workers-status' },
    `${tiles(WIDTH, HEIGHT, TILE, ITERATIONS).length} tiles, ${ITERATIONS} iterations per pixel.`,
  );
  const errors = h('div', { class: 'log errors', 'data-testid': 'workers-errors' });
  const chart = h('div', { class: 'chart', 'data-testid': 'workers-chart' });
  const cores = navigator.hardwareConcurrency;
  const coresNote = h(
    'p',
    { class: 'hint', 'data-testid': 'workers-cores-note', hidden: true },
    `More workers than cores is slower: this machine has ${cores} (navigator.hardwareConcurrency), so past ` +
      `${cores} the workers take turns on the cores, and each one only adds its start-up and messages.`,
  );
  const perWorkerNote = h('p', { class: 'hint', 'data-testid': 'workers-per-worker' });
  const runButton = h('button', { class: 'primary', 'data-testid': 'workers-run' }, 'Render');
  const sweepButton = h('button', { 'data-testid': 'workers-sweep' });
  const results: Run[] = [];

  /** The Workers box as a count: a whole number from 1 to MAX_WORKERS, else undefined. */
  function boxed(): number | undefined {
    const n = Number(count.value);
    return count.value.trim() !== '' && Number.isInteger(n) && n >= 1 && n <= MAX_WORKERS ? n : undefined;
  }

  /** The count to run with; when the box holds none, the status line says so and nothing runs. */
  function workers(): number | undefined {
    const n = boxed();
    const range = `a whole number from 1 to ${MAX_WORKERS}`;
    if (n === undefined) status.textContent = `Workers must be ${range}, not '${count.value}': nothing ran.`;
    return n;
  }

  /** The sweep's label follows the box: it times 1…N workers for the N there. */
  function labelSweep(): void {
    const n = boxed();
    sweepButton.textContent = `Time 1…${n === undefined ? 'N workers' : workersText(n)}`;
  }
  labelSweep();
  count.addEventListener('input', labelSweep);

  async function render(workers: number): Promise<Run> {
    const context = canvas.getContext('2d')!;
    context.clearRect(0, 0, WIDTH, HEIGHT);
    placeholder.hidden = true;
    failedTiles.replaceChildren();
    errors.replaceChildren();
    bar.style.width = '0';
    const jobs = tiles(WIDTH, HEIGHT, TILE, ITERATIONS);
    if (poison.checked) jobs[Math.floor(jobs.length / 2)]!.poison = true;
    const byType = new Map(jobs.map((tile) => [tileType(tile), tile]));
    const channel = new DataProcessingChannel({
      maxWorkers: workers,
      worker: () => new Worker(new URL('./mandelbrot-worker.ts', import.meta.url), { type: 'module' }),
    });
    const listener = channel.addListener();
    listener.startSync();
    for (const tile of jobs) channel.dispatch(listener.id, new Message(tileType(tile), { ...tile }));
    const off = channel.onProgress(({ done, failed }) => {
      bar.style.width = `${(100 * (done + failed)) / jobs.length}%`;
      status.textContent = `${done + failed} / ${jobs.length} tiles on ${workersText(workers)}…`;
    });
    // Worker start-up is not rendering time: start the pool before the clock.
    await channel.warmUp();
    const started = performance.now();
    let failures = 0;
    try {
      for await (const event of channel.processQueue(listener)) {
        if (event.event === MESSAGE_TYPE_INTERNAL_ERROR) {
          failures++;
          const error = event.data as ProcessingError;
          showFailure(error, byType.get(error.type));
          continue;
        }
        const tile = event.data as RenderedTile;
        context.putImageData(new ImageData(new Uint8ClampedArray(tile.pixels), tile.size, tile.size), tile.x, tile.y);
      }
    } finally {
      off();
    }
    const ms = performance.now() - started;
    bar.style.width = '100%';
    const perWorker = channel.progress.perWorker;
    const used = perWorker.filter((n) => n > 0).length;
    await channel.close();
    const run = { workers, ms, perWorker };
    const on = `${workersText(workers)} (${used} did work)`;
    const rendered = jobs.length - failures;
    status.textContent = `Rendered ${rendered} tiles in ${ms.toFixed(0)} ms on ${on}; ${failures} failed.`;
    status.dataset.workersUsed = String(used);
    results.push(run);
    drawChart();
    return run;
  }

  /** Lists a tile's error, and marks the tile on the image with a link to that error. */
  function showFailure(error: ProcessingError, tile: Tile | undefined): void {
    if (tile === undefined) return void logLine(errors, `${error.type} failed: ${error.message}`, 'error');
    const what = `Tile (${tile.x}, ${tile.y}) failed: ${error.message}`;
    const line = logLine(errors, `✕ ${what}`, 'error');
    line.id = `failed-tile-${tile.x}-${tile.y}`;
    line.tabIndex = -1;
    const focusError = (event: Event) => {
      // Focus the error instead of following the link: the page's URL stays as it is.
      event.preventDefault();
      line.focus();
    };
    failedTiles.append(
      h(
        'a',
        {
          class: 'failed-tile',
          href: `#${line.id}`,
          style: tileBox(tile),
          title: what,
          'aria-label': `${what}. Go to the error.`,
          'data-testid': 'workers-failed-tile',
          onclick: focusError,
        },
        '✕',
      ),
    );
  }

  /** The best time per worker count with its speed-up over 1 worker, and the last run's counts. */
  function drawChart(): void {
    const best = new Map<number, number>();
    for (const run of results) best.set(run.workers, Math.min(run.ms, best.get(run.workers) ?? Infinity));
    const rows = [...best].sort((a, b) => a[0] - b[0]);
    const longest = Math.max(...rows.map(([, ms]) => ms));
    const alone = best.get(1);
    chart.replaceChildren(
      ...rows.map(([workers, ms]) =>
        h(
          'div',
          { class: 'bar-row', 'data-workers': workers },
          h('span', {}, workersText(workers)),
          h('div', { class: 'bar', style: `width: ${(100 * ms) / longest}%` }),
          h('span', {}, `${ms.toFixed(0)} ms`),
          h(
            'span',
            { class: 'speed-up', title: 'Speed-up over 1 worker', 'data-testid': 'workers-speed-up' },
            alone === undefined ? '' : `${(alone / ms).toFixed(1)}×`,
          ),
        ),
      ),
    );
    coresNote.hidden = !rows.some(([workers]) => workers > cores);
    const last = results.at(-1);
    perWorkerNote.textContent = last
      ? `Last run, messages per worker: ${last.perWorker.map((n, i) => `worker ${i + 1}: ${n}`).join(', ')}.`
      : '';
  }

  async function busy(task: () => Promise<void>): Promise<void> {
    runButton.disabled = sweepButton.disabled = true;
    try {
      await task();
    } catch (error) {
      logLine(errors, `run failed: ${error instanceof Error ? error.message : String(error)}`, 'error');
    } finally {
      runButton.disabled = sweepButton.disabled = false;
    }
  }

  runButton.addEventListener('click', () => {
    const n = workers();
    if (n !== undefined) void busy(async () => void (await render(n)));
  });
  sweepButton.addEventListener('click', () => {
    const n = workers();
    if (n === undefined) return;
    // A sweep's chart holds that sweep only: earlier runs' bars are cleared.
    results.length = 0;
    drawChart();
    void busy(async () => {
      for (let w = 1; w <= n; w++) await render(w);
    });
  });

  return h(
    'section',
    { class: 'panel', id: 'workers', 'data-testid': 'panel-workers' },
    h('h2', {}, '2 · Worker offload'),
    h(
      'p',
      { class: 'lead' },
      'Each tile is a message; a DataProcessingChannel renders them on a pool of Web Workers ' +
        'and streams results as they complete.',
    ),
    h(
      'div',
      { class: 'row' },
      h('label', {}, 'Workers ', count),
      h('label', {}, poison, ' include a failing tile'),
      runButton,
      sweepButton,
    ),
    h('div', { class: 'progress' }, bar),
    status,
    h(
      'div',
      { class: 'split' },
      h('div', { class: 'picture' }, canvas, placeholder, failedTiles),
      h(
        'div',
        {},
        h('h3', {}, 'Wall time by worker count, and speed-up over 1 worker'),
        chart,
        coresNote,
        perWorkerNote,
        h('h3', {}, 'Errors'),
        errors,
      ),
    ),
  );
}
