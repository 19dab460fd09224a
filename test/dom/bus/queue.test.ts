import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChunkedQueue, Message, SSEChannel } from '../../../src/index.js';

describe('ChunkedQueue', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is FIFO across segments, growth and emptying', () => {
    const q = new ChunkedQueue<number>();
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < round * 7 + 3; i++) q.push(next++);
      for (let i = 0; i < round * 5 + 1; i++) expect(q.take()).toBe(expected++);
    }
    while (q.length > 0) expect(q.take()).toBe(expected++);
    expect(expected).toBe(next);
    expect(q.take()).toBeUndefined();
  });

  it('dispatching and draining 1,000,000 messages never shifts or splices an array', async () => {
    // O(1) take means no Array.shift/splice on the hot path: spy on them while a million go through.
    const shift = vi.spyOn(Array.prototype, 'shift');
    const splice = vi.spyOn(Array.prototype, 'splice');
    const unshift = vi.spyOn(Array.prototype, 'unshift');
    const channel = new SSEChannel();
    const listener = channel.addListener();
    listener.startSync();
    const msg = new Message('m');
    for (let i = 0; i < 1_000_000; i++) channel.dispatch(listener.id, msg);
    let n = 0;
    for await (const batch of channel.messageBatches(listener)) {
      n += batch.length;
      if (n === 1_000_000) break;
    }
    expect(n).toBe(1_000_000);
    expect(shift).not.toHaveBeenCalled();
    expect(splice).not.toHaveBeenCalled();
    expect(unshift).not.toHaveBeenCalled();
  });

  it('a steady queue keeps its capacity: once warm, a million push/take pairs never grow it', () => {
    const q = new ChunkedQueue<number>();
    const pairs = (n: number) => {
      for (let i = 0; i < n; i++) {
        q.push(i);
        q.take();
      }
    };
    for (let i = 0; i < 10; i++) q.push(i);
    pairs(1_000);
    const warm = q.capacity;
    pairs(1_000_000);
    expect(q.capacity).toBe(warm);
    expect(warm).toBeLessThanOrEqual(64);
    expect(q.length).toBe(10);
  });

  it('gives back what a burst took: after a million drained, it holds about one segment', () => {
    const q = new ChunkedQueue<number>();
    for (let i = 0; i < 1_000_000; i++) q.push(i);
    expect(q.capacity).toBeGreaterThanOrEqual(1_000_000);
    let inOrder = 0;
    for (let i = 0; i < 1_000_000; i++) if (q.take() === i) inOrder++;
    expect(inOrder).toBe(1_000_000);
    expect(q.capacity).toBeLessThanOrEqual(2 * 1024);
    q.push(7);
    expect(q.take()).toBe(7);
    expect(q.take()).toBeUndefined();
  });

  it('matches a plain array under a long mix of pushes, takes and put-backs', () => {
    const q = new ChunkedQueue<number>();
    const model: number[] = [];
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let next = 0;
    for (let step = 0; step < 5_000; step++) {
      const op = random(3);
      const count = random(step % 100 === 0 ? 3_000 : 40);
      if (op === 0) {
        for (let i = 0; i < count; i++) {
          q.push(next);
          model.push(next++);
        }
      } else {
        const taken: number[] = [];
        for (let i = 0; i < count && model.length > 0; i++) taken.push(q.take()!);
        expect(taken).toEqual(model.splice(0, taken.length));
        if (op === 2) {
          q.putBack(taken);
          model.unshift(...taken);
        }
      }
      expect(q.length).toBe(model.length);
    }
    const rest: number[] = [];
    for (let item = q.take(); item !== undefined; item = q.take()) rest.push(item);
    expect(rest).toEqual(model);
  });

  it('waitForMore wakes once at the next push and its canceller removes the waiter', () => {
    const q = new ChunkedQueue<string>();
    const woken: string[] = [];
    const cancel = q.waitForMore(() => woken.push('a'));
    q.waitForMore(() => woken.push('b'));
    expect(q.waiting).toBe(2);
    cancel();
    expect(q.waiting).toBe(1);
    q.push('x');
    q.push('y');
    expect(woken).toEqual(['b']);
    expect(q.waiting).toBe(0);
    q.waitForMore(() => woken.push('now'));
    expect(woken).toEqual(['b', 'now']);
  });
});

describe('ChunkedQueue.putBack', () => {
  it('puts items back into an emptied queue, then pushes go after them', () => {
    const queue = new ChunkedQueue<number>();
    queue.push(1);
    queue.push(2);
    const taken = [queue.take()!, queue.take()!];
    expect(queue.length).toBe(0);
    queue.putBack(taken);
    queue.push(3);
    const out: number[] = [];
    for (let item = queue.take(); item !== undefined; item = queue.take()) out.push(item);
    expect(out).toEqual([1, 2, 3]);
    queue.push(4);
    expect([queue.take(), queue.take(), queue.length]).toEqual([4, undefined, 0]);
  });

  it('returns items to the head in order across segments and growth', () => {
    const queue = new ChunkedQueue<number>();
    for (let i = 0; i < 10; i++) queue.push(i);
    const taken = [queue.take()!, queue.take()!, queue.take()!];
    for (let i = 10; i < 20; i++) queue.push(i);
    queue.putBack(taken);
    queue.putBack(Array.from({ length: 20 }, (_, i) => -20 + i));
    const out: number[] = [];
    for (let item = queue.take(); item !== undefined; item = queue.take()) out.push(item);
    expect(out).toEqual([...Array.from({ length: 20 }, (_, i) => -20 + i), ...Array.from({ length: 20 }, (_, i) => i)]);
  });
});
