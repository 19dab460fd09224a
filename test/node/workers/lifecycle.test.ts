// DataProcessingChannel on real worker_threads: crashes, cancellation, shutdown.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataProcessingChannel, WorkerCrashedError } from 'eric-bus';
import { nodeWorker } from 'eric-bus/node';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { dispatchAll, drain, ECHO_WORKER, type Event, isError, settled, trackedChannel } from '../helpers/workers.js';

const open: DataProcessingChannel[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

function setup(maxWorkers: number) {
  const t = trackedChannel(maxWorkers);
  open.push(t.channel);
  return t;
}

describe('worker crashes', () => {
  it.each([
    ['uncaught', /uncaught in worker/],
    ['exit', /exited with code 3/],
  ])('a worker that dies (%s) is replaced and its in-flight messages are reported', async (kind, reason) => {
    const { channel, listener, threads } = setup(2);
    const messages: [string, unknown][] = Array.from({ length: 12 }, (_, i) => ['echo', i]);
    messages.splice(5, 0, [kind, null]);
    dispatchAll(channel, listener.id, messages);
    const events = await drain(channel, listener);

    // Exactly one event per message: the crash is an error, and so is anything that shared its batch.
    expect(events).toHaveLength(messages.length);
    const echoed = events.filter((e) => !isError(e)).map((e) => e.data);
    const errors = events.filter(isError);
    expect(new Set(echoed).size).toBe(echoed.length);
    expect(errors.filter((e) => e.data.type === 'echo').length + echoed.length).toBe(12);
    const crash = errors.find((e) => e.data.type === kind)!;
    expect(crash.data.message).toMatch(reason);
    expect(crash.data.message).toMatch(/worker \d died/);
    for (const e of errors) expect(e.data.message).toMatch(reason);
    expect(events.some((e) => !isError(e))).toBe(true);

    // A third thread took the dead one's place, and the pool still works at full size.
    expect(threads).toHaveLength(3);
    dispatchAll(
      channel,
      listener.id,
      Array.from({ length: 8 }, (_, i): [string, unknown] => ['echo', 100 + i]),
    );
    const after = await drain(channel, listener);
    expect(after.map((e) => e.data).sort()).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
  });

  it('gives up with a typed error when workers die as they load, leaving the queue intact', async () => {
    const channel = new DataProcessingChannel({
      maxWorkers: 2,
      worker: nodeWorker(new URL('../fixtures/broken-worker.mjs', import.meta.url)),
    });
    open.push(channel);
    const listener = channel.addListener();
    dispatchAll(
      channel,
      listener.id,
      Array.from({ length: 50 }, (_, i): [string, unknown] => ['echo', i]),
    );
    const events: Event[] = [];
    const error = await (async () => {
      for await (const e of channel.processQueue(listener)) events.push(e);
    })().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect((error as Error).message).toMatch(/gave up/);
    // No message was handed to a worker that never started.
    expect(events).toEqual([]);
    expect(channel.queueLength(listener.id)).toBe(50);
  });
});

describe('cancellation and shutdown', () => {
  it('breaking out stops sending work: unsent messages stay queued, none is lost', async () => {
    const { channel, listener } = setup(2);
    const total = 200;
    dispatchAll(
      channel,
      listener.id,
      Array.from({ length: total }, (_, i): [string, unknown] => ['slow', i]),
    );
    let received = 0;
    for await (const _ of channel.processQueue(listener)) if (++received === 5) break;

    await settled(channel);
    const left = channel.queueLength(listener.id);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(total - 5);
    // Everything taken from the queue was processed; the rest waits, untouched.
    expect(channel.progress.done + left).toBe(total);

    const rest = await drain(channel, listener);
    expect(rest).toHaveLength(left);
    expect(new Set(rest.map((e) => e.data)).size).toBe(left);
  });

  it('close() ends open streams and terminates every worker thread', async () => {
    const { channel, listener, threads, alive } = setup(2);
    dispatchAll(
      channel,
      listener.id,
      Array.from({ length: 100 }, (_, i): [string, unknown] => ['slow', i]),
    );
    const stream = channel.processQueue(listener);
    const first = await stream.next();
    expect(first.done).toBe(false);
    expect(alive()).toHaveLength(2);

    await channel.close();
    expect(threads).toHaveLength(2);
    expect(alive()).toEqual([]);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('no worker outlives its channel, crashed ones included', async () => {
    const { channel, listener, threads, alive } = setup(2);
    dispatchAll(channel, listener.id, [
      ['exit', null],
      ['echo', 1],
      ['uncaught', null],
      ['echo', 2],
    ]);
    await drain(channel, listener);
    await channel.close();
    expect(threads.length).toBeGreaterThanOrEqual(3);
    expect(alive()).toEqual([]);
  });

  it('rejects a bad maxWorkers with a RangeError', () => {
    expect(() => new DataProcessingChannel({ maxWorkers: 0 })).toThrow(RangeError);
    expect(() => new DataProcessingChannel({ maxWorkers: 1.5 })).toThrow(/positive integer/);
  });

  it('an idle pool does not hold the process open (a forgotten close() does not hang Node)', async () => {
    // A separate Node process on the built code (\`pretest\` builds dist/): processes, never closes, must still exit.
    const built = (path: string) => JSON.stringify(new URL(`../../../dist/${path}`, import.meta.url).href);
    const script = `
      import { DataProcessingChannel, Message } from ${built('bridge/node-library.js')};
      const worker = new URL(${JSON.stringify(ECHO_WORKER.href)});
      const channel = new DataProcessingChannel({ maxWorkers: 2, worker });
      const listener = channel.addListener();
      for (let i = 0; i < 20; i++) channel.dispatch(listener.id, new Message('slow', i));
      let n = 0;
      for await (const _ of channel.processQueue(listener)) n++;
      console.log('processed', n);
    `;
    // A file, not --eval: worker threads inherit execArgv, and --input-type breaks them.
    const dir = await mkdtemp(join(tmpdir(), 'eric-bus-idle-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'idle.mjs');
    await writeFile(file, script);
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(killer);
    expect({ code, signal, stdout: stdout.trim() }).toEqual({ code: 0, signal: null, stdout: 'processed 20' });
  });
});
