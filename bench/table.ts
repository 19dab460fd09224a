/** Shared helpers for the benchmark suites: timing and a plain-text table. */

/** Runs `fn` `runs` times after one warm-up and returns the median duration in ms. */
export async function medianMs(fn: () => unknown, runs = 5): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** What {@link alternating} measured: per workload, each round's wall time and this process's CPU time, in ms. */
export interface Timings {
  wallMs: number[][];
  cpuMs: number[][];
}

/** A workload to time: `run` is timed; `prepare` (before it) and `finish` (after it) are not. */
export interface Workload {
  prepare?: () => void;
  run: () => unknown;
  finish?: () => void;
}

/**
 * Times every workload `rounds` times in alternation (a, b, c, a, b, c, …) after one warm-up each,
 * so whatever else loads the machine weighs on all of them alike. CPU time (this process, garbage
 * collector threads included) moves less than wall time when the machine is shared.
 */
export async function alternating(
  workloads: readonly (Workload | (() => unknown))[],
  rounds: number,
): Promise<Timings> {
  const all = workloads.map((w): Workload => (typeof w === 'function' ? { run: w } : w));
  const wallMs = all.map((): number[] => []);
  const cpuMs = all.map((): number[] => []);
  for (let round = 0; round <= rounds; round++) {
    for (const [i, { prepare, run, finish }] of all.entries()) {
      prepare?.();
      (globalThis as { gc?: () => void }).gc?.();
      const cpu = process.cpuUsage();
      const start = performance.now();
      await run();
      const wall = performance.now() - start;
      const used = process.cpuUsage(cpu);
      finish?.();
      // Round 0 warms up.
      if (round === 0) continue;
      wallMs[i]!.push(wall);
      cpuMs[i]!.push((used.user + used.system) / 1000);
    }
  }
  return { wallMs, cpuMs };
}

/** The middle value (the upper middle of an even count). */
export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/** Formats a rate like 3.42 M/s. */
export function rate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k/s`;
  return `${perSecond.toFixed(0)} /s`;
}

/** Prints a titled table with aligned columns. */
export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  console.log(`\n${title}\n`);
  console.log(line(cells[0]!));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of cells.slice(1)) console.log(line(r));
}

/**
 * A target README's "Benchmark targets" states for a table: this run's figure must reach `atLeast`
 * (a speed), or stay within `atMost` (a cost).
 */
export type Target = {
  /** What is measured, as README says it. */
  what: string;
  value: number;
  /** How the figures read (`1.45×`, `86 %`). */
  format: (value: number) => string;
} & ({ atLeast: number; atMost?: undefined } | { atMost: number; atLeast?: undefined });

/** A ratio as `1.45×`. */
export const times = (value: number): string => `${value.toFixed(2)}×`;
/** A fraction as `86 %`. */
export const percent = (value: number): string => `${(value * 100).toFixed(0)} %`;

/** Prints, under a table, each of its targets and whether this run met it. */
export function printTargets(targets: readonly Target[]): void {
  console.log('');
  for (const { what, value, atLeast, atMost, format } of targets) {
    const [bound, met] =
      atMost === undefined ? [`≥ ${format(atLeast)}`, value >= atLeast] : [`≤ ${format(atMost)}`, value <= atMost];
    console.log(`target: ${what} ${bound}: ${format(value)} in this run — ${met ? 'met' : 'MISSED'}`);
  }
}

/** Runs `count` calls of `fn` with at most `window` in flight. */
export async function windowed(count: number, window: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
}

/** Runs `fn` once, after a collection when `--expose-gc` allows it; its wall time in ms. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  const start = performance.now();
  await fn();
  return performance.now() - start;
}
