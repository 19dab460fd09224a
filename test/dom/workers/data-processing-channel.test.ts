// DataProcessingChannel without workers: the listener's own onMessage, in the calling thread.

import {
  DataProcessingChannel,
  MESSAGE_TYPE_INTERNAL_ERROR,
  Message,
  MessageQueueListener,
  type ProcessingProgress,
  type QueueOutcome,
  type WorkQueue,
} from 'eric-bus';
import { describe, expect, it } from 'vitest';
import { collect } from '../../node/helpers/async.js';

class Recorder extends MessageQueueListener {
  readonly seen: string[] = [];
  override onMessage(msg: Message): void {
    this.seen.push(msg.type);
  }
}

describe('DataProcessingChannel in the calling thread', () => {
  it('processes the queue with onMessage and yields {event, data} for each (the seed test)', async () => {
    const channel = new DataProcessingChannel({ maxWorkers: 2 });
    const listener = new Recorder();
    channel.registerListener(listener);
    for (const type of ['test1', 'test2', 'test3']) channel.dispatch(listener.id, new Message(type, { n: type }));

    const events = await collect(channel.processQueue(listener));
    expect(new Set(events.map((e) => e.event))).toEqual(new Set(['test1', 'test2', 'test3']));
    expect(events).toHaveLength(3);
    expect(events.find((e) => e.event === 'test2')!.data).toEqual({ n: 'test2' });
    expect(listener.seen.sort()).toEqual(['test1', 'test2', 'test3']);
    expect(channel.queueLength(listener.id)).toBe(0);
  });

  it('runs at most maxWorkers async handlers at once and yields in completion order', async () => {
    const channel = new DataProcessingChannel({ maxWorkers: 3 });
    let running = 0;
    let peak = 0;
    const release: (() => void)[] = [];
    const listener = new (class extends MessageQueueListener {
      override async onMessage(): Promise<void> {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => release.push(resolve));
        running--;
      }
    })();
    channel.registerListener(listener);
    for (let i = 0; i < 10; i++) channel.dispatch(listener.id, new Message('job', i));

    const stream = channel.processQueue(listener);
    const order: unknown[] = [];
    const consumer = (async () => {
      for await (const e of stream) order.push(e.data);
    })();
    // Release handlers newest-first whenever some are waiting: completion order differs from dispatch order.
    for (let round = 0; round < 100 && order.length < 10; round++) {
      await new Promise((r) => setTimeout(r, 0));
      release.pop()?.();
    }
    await consumer;
    expect(peak).toBe(3);
    expect(order).toHaveLength(10);
    expect([...order].sort((a, b) => Number(a) - Number(b))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(order).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('turns a throwing or rejecting onMessage into one error event; the rest complete', async () => {
    const channel = new DataProcessingChannel({ maxWorkers: 2 });
    const listener = new (class extends MessageQueueListener {
      override onMessage(msg: Message): void | Promise<void> {
        if (msg.type === 'bad') throw new TypeError('bad payload');
        if (msg.type === 'late') return Promise.reject(new Error('late failure'));
      }
    })();
    channel.registerListener(listener);
    for (const type of ['ok', 'bad', 'ok', 'late']) channel.dispatch(listener.id, new Message(type, type));

    const events = await collect(channel.processQueue(listener));
    expect(events).toHaveLength(4);
    expect(events.filter((e) => e.event === 'ok')).toHaveLength(2);
    expect(events.filter((e) => e.event === MESSAGE_TYPE_INTERNAL_ERROR).map((e) => e.data)).toEqual(
      expect.arrayContaining([
        { type: 'bad', message: 'TypeError: bad payload' },
        { type: 'late', message: 'late failure' },
      ]),
    );
    expect(channel.progress).toMatchObject({ done: 2, failed: 2, inFlight: 0, pending: 0 });
  });

  it('breaking out leaves the unprocessed messages in the queue', async () => {
    const channel = new DataProcessingChannel({ maxWorkers: 1 });
    const listener = channel.addListener();
    for (let i = 0; i < 10; i++) channel.dispatch(listener.id, new Message('n', i));
    const first: unknown[] = [];
    for await (const e of channel.processQueue(listener)) {
      first.push(e.data);
      if (first.length === 3) break;
    }
    expect(first).toEqual([0, 1, 2]);
    // Work is taken lazily: only a few beyond what was yielded were handed to onMessage, and
    // every message is either processed or still queued.
    const left = channel.queueLength(listener.id);
    expect(left).toBeGreaterThanOrEqual(4);
    expect(channel.progress.done + left).toBe(10);
    const rest = await collect(channel.processQueue(listener));
    expect(rest.map((e) => e.data)).toEqual(Array.from({ length: left }, (_, i) => 10 - left + i));
  });

  it('reports progress for a progress bar and stops reporting after unsubscribe', async () => {
    const channel = new DataProcessingChannel({ maxWorkers: 2 });
    const listener = channel.addListener();
    for (let i = 0; i < 6; i++) channel.dispatch(listener.id, new Message('n', i));
    expect(channel.progress).toEqual({ done: 0, failed: 0, pending: 6, inFlight: 0, perWorker: [0, 0], duplicates: 0 });
    const seen: ProcessingProgress[] = [];
    const off = channel.onProgress((p) => seen.push(p));
    await collect(channel.processQueue(listener));
    off();
    expect(seen.length).toBeGreaterThan(0);
    for (const p of seen) expect(p.done + p.failed + p.pending + p.inFlight).toBe(6);
    expect(seen.at(-1)).toMatchObject({ done: 6, pending: 0, inFlight: 0 });
    expect(channel.progress.perWorker.reduce((a, b) => a + b)).toBe(6);

    const count = seen.length;
    channel.dispatch(listener.id, new Message('n', 7));
    await collect(channel.processQueue(listener));
    expect(seen).toHaveLength(count);
  });

  it('close() ends an open processQueue stream', async () => {
    const channel = new DataProcessingChannel({ maxWorkers: 1 });
    const listener = new (class extends MessageQueueListener {
      override onMessage(): Promise<void> {
        return new Promise(() => {}); // never finishes
      }
    })();
    channel.registerListener(listener);
    channel.dispatch(listener.id, new Message('stuck'));
    const stream = channel.processQueue(listener);
    const pending = stream.next();
    await channel.close();
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it('throws InvalidListenerException for a listener it does not have', () => {
    const channel = new DataProcessingChannel({ maxWorkers: 1 });
    expect(() => channel.processQueue(new MessageQueueListener('nope'))).toThrow(/Invalid listener nope/);
  });

  it('refuses a module URL where there are no Web Workers (happy-dom) with a clear error', async () => {
    const channel = new DataProcessingChannel({ maxWorkers: 1, worker: 'worker.js' });
    const listener = channel.addListener();
    channel.dispatch(listener.id, new Message('x'));
    const hasWorker = typeof Worker !== 'undefined';
    if (hasWorker) return; // happy-dom may one day ship Worker; nothing to check then
    await expect(channel.processQueue(listener).next()).rejects.toThrow(/nodeWorker/);
  });
});

/**
 * A work queue of the test's own, as a user may write one ({@link WorkQueue}): it keeps what is
 * dispatched, runs nothing (no process joins it), and hands back the outcomes the test makes.
 */
class HeldQueue implements WorkQueue {
  readonly added: { id: string; route: string }[] = [];
  readonly #listeners = new Set<(outcome: QueueOutcome) => void>();
  #next = 0;
  nextId = () => `m${++this.#next}`;
  add = async (message: { id: string; route: string }) => void this.added.push(message);
  onOutcome(callback: (outcome: QueueOutcome) => void) {
    this.#listeners.add(callback);
    return () => this.#listeners.delete(callback);
  }
  join = () => ({ settle() {} });
  close = async () => {};
  /** An outcome comes back, as from another process. */
  answer(outcome: QueueOutcome): void {
    for (const listener of this.#listeners) listener(outcome);
  }
}

describe('DataProcessingChannel on a work queue', () => {
  it('one event per message dispatched; an outcome that comes again, or unasked, is counted and dropped', async () => {
    const queue = new HeldQueue();
    const channel = new DataProcessingChannel({ maxWorkers: 1, queue });
    const listener = channel.addListener();
    for (let n = 1; n <= 3; n++) await channel.dispatch(listener.id, new Message('job', n));
    expect(channel.progress).toMatchObject({ pending: 3, done: 0, duplicates: 0 });
    const [first, second, third] = queue.added as [{ id: string; route: string }, ...{ id: string; route: string }[]];
    queue.answer({ ...first, data: 'one' });
    queue.answer({ ...first, data: 'one, run again' });
    queue.answer({ id: 'm99', route: listener.id, data: 'never dispatched' });
    queue.answer({ ...second!, error: 'it threw' });
    queue.answer({ ...third!, data: 'three' });
    const events = await collect(channel.processQueue(listener));
    expect(events.map((event) => [event.event, event.data])).toEqual([
      ['job', 'one'],
      [MESSAGE_TYPE_INTERNAL_ERROR, { type: 'job', message: 'it threw' }],
      ['job', 'three'],
    ]);
    expect(channel.progress).toMatchObject({ pending: 0, done: 2, failed: 1, duplicates: 2 });
    await channel.close();
  });
});
