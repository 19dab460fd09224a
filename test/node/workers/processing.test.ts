// DataProcessingChannel on real worker_threads: results, errors, volume, transfers.
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import { DataProcessingChannel, Message } from 'eric-bus';
import { nodeWorker } from 'eric-bus/node';
import { afterEach, describe, expect, it } from 'vitest';
import { dispatchAll, drain, ECHO_WORKER, isError, progressReaches, trackedChannel } from '../helpers/workers.js';

const open: DataProcessingChannel[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

function setup(maxWorkers: number, options = {}) {
  const t = trackedChannel(maxWorkers, options);
  open.push(t.channel);
  return t;
}

function primesBelow(n: number): number {
  let count = 0;
  for (let i = 2; i < n; i++) {
    let prime = true;
    for (let d = 2; d * d <= i; d++)
      if (i % d === 0) {
        prime = false;
        break;
      }
    if (prime) count++;
  }
  return count;
}

describe('DataProcessingChannel on worker_threads', () => {
  it('runs a CPU-bound handler off the main thread, on every worker, with correct results', async () => {
    const { channel, listener, threads } = setup(2);
    await channel.warmUp();
    const inputs = Array.from({ length: 40 }, (_, i) => 5_000 + i * 97);
    dispatchAll(
      channel,
      listener.id,
      inputs.map((n) => ['primes', n]),
    );
    const events = await drain(channel, listener);

    expect(events).toHaveLength(inputs.length);
    const byN = new Map(
      events.map((e) => [(e.data as { n: number }).n, e.data as { count: number; threadId: number }]),
    );
    for (const n of inputs) expect(byN.get(n)?.count).toBe(primesBelow(n));
    const workerThreads = new Set([...byN.values()].map((d) => d.threadId));
    expect(workerThreads.has(threadId)).toBe(false);
    expect(workerThreads.size).toBe(2);
    expect(threads).toHaveLength(2);
    const { done, failed, pending, inFlight, perWorker } = channel.progress;
    expect({ done, failed, pending, inFlight }).toEqual({ done: 40, failed: 0, pending: 0, inFlight: 0 });
    expect(perWorker.every((n) => n > 0)).toBe(true);
    expect(perWorker.reduce((a, b) => a + b)).toBe(40);
  });

  // The module URL a page passes works in Node too, with no Node-only helper in the caller
  // (docs/workers.md, "How it behaves").
  it.each([
    ['a URL', ECHO_WORKER],
    ['a file: URL as text', ECHO_WORKER.href],
    ['a path', fileURLToPath(ECHO_WORKER)],
  ])('starts worker threads from %s given as `worker`', async (_, worker) => {
    const channel = new DataProcessingChannel({ maxWorkers: 2, worker });
    open.push(channel);
    await channel.warmUp();
    const listener = channel.addListener();
    const inputs = Array.from({ length: 20 }, (_, i) => 2_000 + i);
    dispatchAll(
      channel,
      listener.id,
      inputs.map((n) => ['primes', n]),
    );
    const events = await drain(channel, listener);
    const results = events.map((e) => e.data as { n: number; count: number; threadId: number });
    expect(results.map((r) => r.n).sort()).toEqual(inputs);
    for (const r of results) expect(r.count).toBe(primesBelow(r.n));
    const used = new Set(results.map((r) => r.threadId));
    expect(used.has(threadId)).toBe(false);
    expect(channel.progress.perWorker.every((n) => n > 0)).toBe(true);
  });

  it('reports a throwing handler as one error event for that message while the rest complete', async () => {
    const { channel, listener } = setup(2);
    dispatchAll(channel, listener.id, [
      ['echo', 1],
      ['throw', { bad: true }],
      ['echo', 2],
      ['reject', null],
      ['echo', 3],
    ]);
    const events = await drain(channel, listener);

    expect(events).toHaveLength(5);
    const errors = events.filter(isError);
    expect(errors.map((e) => e.data).sort((a, b) => a.type.localeCompare(b.type))).toEqual([
      { type: 'reject', message: 'rejected' },
      { type: 'throw', message: 'cannot process {"bad":true}' },
    ]);
    expect(
      events
        .filter((e) => e.event === 'echo')
        .map((e) => e.data)
        .sort(),
    ).toEqual([1, 2, 3]);
    expect(channel.progress).toMatchObject({ done: 3, failed: 2 });
  });

  it('accounts for every one of 10,000 tiny messages exactly once', async () => {
    const { channel, listener } = setup(2);
    const total = 10_000;
    for (let i = 0; i < total; i++) channel.dispatch(listener.id, new Message(i % 1000 === 999 ? 'throw' : 'echo', i));
    const events = await drain(channel, listener);

    expect(events).toHaveLength(total);
    const seen = new Set<number>();
    for (const e of events) {
      if (isError(e)) seen.add(Number(/cannot process (\d+)/.exec(e.data.message)![1]));
      else seen.add(e.data as number);
    }
    expect(seen.size).toBe(total);
    expect(events.filter(isError)).toHaveLength(10);
    expect(channel.progress).toMatchObject({ done: total - 10, failed: 10, inFlight: 0, pending: 0 });
  });

  it('transfers a 16 MiB ArrayBuffer: the sender is left with a detached buffer', async () => {
    const { channel, listener } = setup(1);
    const buffer = new ArrayBuffer(16 * 1024 * 1024);
    new Uint8Array(buffer)[0] = 42;
    const view = new Float64Array(1024);
    channel.dispatch(listener.id, new Message('buffer', buffer));
    channel.dispatch(listener.id, new Message('echo', { nested: [view] }));
    const events = await drain(channel, listener);

    expect(buffer.byteLength).toBe(0);
    expect(view.buffer.byteLength).toBe(0);
    const result = events.find((e) => e.event === 'buffer')!.data as {
      byteLength: number;
      first: number;
      buffer: ArrayBuffer;
    };
    expect(result.byteLength).toBe(16 * 1024 * 1024);
    expect(result.first).toBe(42);
    // The worker sent the buffer back the same way: moved, whole.
    expect(result.buffer.byteLength).toBe(16 * 1024 * 1024);
    const echoed = events.find((e) => e.event === 'echo')!.data as { nested: Float64Array[] };
    expect(echoed.nested[0]).toBeInstanceOf(Float64Array);
    expect(echoed.nested[0]!.length).toBe(1024);
  });

  it("moves a worker's result buffers back too: the worker is left with a detached buffer", async () => {
    const { channel, listener } = setup(1);
    channel.dispatch(listener.id, new Message('keep', 4096));
    const [returned] = await drain(channel, listener);
    expect((returned!.data as ArrayBuffer).byteLength).toBe(4096);
    channel.dispatch(listener.id, new Message('kept'));
    const [kept] = await drain(channel, listener);
    expect(kept!.data).toBe(0);
  });

  it('transfers buffers inside cyclic payloads (structured cloning allows cycles)', async () => {
    const { channel, listener } = setup(1);
    const buffer = new ArrayBuffer(64);
    const node: { buffer: ArrayBuffer; self?: unknown; list: unknown[] } = { buffer, list: [] };
    node.self = node;
    node.list.push(node, new Map([['again', node]]));
    channel.dispatch(listener.id, new Message('echo', node));
    const [event] = await drain(channel, listener);
    const echoed = event!.data as typeof node;
    expect(echoed.self).toBe(echoed);
    expect(echoed.buffer.byteLength).toBe(64);
    expect(buffer.byteLength).toBe(0);
  });

  it('copies instead when transfer is off', async () => {
    const { channel, listener } = setup(1, { transfer: false });
    const buffer = new ArrayBuffer(1024);
    channel.dispatch(listener.id, new Message('buffer', buffer));
    const [event] = await drain(channel, listener);
    expect((event!.data as { byteLength: number }).byteLength).toBe(1024);
    expect(buffer.byteLength).toBe(1024);
  });

  it('fails only the message whose payload cannot be cloned', async () => {
    const { channel, listener } = setup(1);
    dispatchAll(channel, listener.id, [
      ['echo', 1],
      ['echo', { fn: () => 1 }],
      ['echo', 2],
    ]);
    const events = await drain(channel, listener);
    expect(
      events
        .filter((e) => !isError(e))
        .map((e) => e.data)
        .sort(),
    ).toEqual([1, 2]);
    const errors = events.filter(isError);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.data.message).toMatch(/clone/i);
  });

  it('serves two listeners streaming at once from one pool, each getting only its own events', async () => {
    const { channel, listener, threads } = setup(2);
    const other = channel.addListener();
    for (let i = 0; i < 500; i++) {
      channel.dispatch(listener.id, new Message('echo', `a${i}`));
      channel.dispatch(other.id, new Message('echo', `b${i}`));
    }
    const [a, b] = await Promise.all([drain(channel, listener), drain(channel, other)]);
    expect(a.map((e) => e.data).sort()).toEqual(Array.from({ length: 500 }, (_, i) => `a${i}`).sort());
    expect(b.map((e) => e.data).sort()).toEqual(Array.from({ length: 500 }, (_, i) => `b${i}`).sort());
    expect(threads).toHaveLength(2);
  });

  it('runs adapt on results and errors alike', async () => {
    class Tagged extends DataProcessingChannel<string> {
      override adapt(msg: Message): string {
        return `${msg.type}:${JSON.stringify(msg.payload)}`;
      }
    }
    const { nodeWorker } = await import('eric-bus/node');
    const channel = new Tagged({
      maxWorkers: 1,
      worker: nodeWorker(new URL('../fixtures/echo-worker.mjs', import.meta.url)),
    });
    open.push(channel as unknown as DataProcessingChannel);
    const listener = channel.addListener();
    channel.dispatch(listener.id, new Message('echo', 'x'));
    channel.dispatch(listener.id, new Message('throw', 'y'));
    const out: string[] = [];
    for await (const s of channel.processQueue(listener)) out.push(s);
    expect(out.sort()).toEqual(['_eric_error:{"type":"throw","message":"cannot process \\"y\\""}', 'echo:"x"']);
  });
});

describe('batch sizes on worker_threads', () => {
  const GATED = new URL('../fixtures/gated-worker.mjs', import.meta.url);
  const gate = () => new Int32Array(new SharedArrayBuffer(4));
  const open = (g: Int32Array) => {
    Atomics.store(g, 0, 1);
    Atomics.notify(g, 0);
  };

  it('the first worker up takes one message per batch, not a share of the queue, while another starts', async () => {
    const run = gate();
    const late = gate();
    let started = 0;
    const channel = new DataProcessingChannel({
      maxWorkers: 2,
      worker: () => nodeWorker(GATED, { workerData: { run, start: started++ === 1 ? late : undefined } })(),
    });
    try {
      const listener = channel.addListener();
      dispatchAll(
        channel,
        listener.id,
        Array.from({ length: 40 }, (_, i) => ['work', i]),
      );
      const events = drain(channel, listener);
      // The first worker holds a batch running and one ahead: one message each, the rest stays queued.
      await progressReaches(channel, (p) => p.inFlight > 0);
      expect(channel.progress).toMatchObject({ inFlight: 2, pending: 38 });
      open(late);
      await progressReaches(channel, (p) => p.inFlight === 4);
      expect(channel.progress.pending).toBe(36);
      open(run);
      const data = (await events).map((e) => e.data as number);
      expect(data.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect(channel.progress.perWorker.every((n) => n >= 2)).toBe(true);
    } finally {
      open(late);
      open(run);
      await channel.close();
    }
  });
});
