import { afterEach, describe, expect, it, vi } from 'vitest';
import { Message, RingQueue, SSEChannel } from '../../../src/index.js';

describe('RingQueue', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is FIFO across wrap-around and growth', () => {
    const q = new RingQueue<number>();
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

  it('a steady queue keeps its capacity: a million push/take pairs never grow it', () => {
    const q = new RingQueue<number>();
    for (let i = 0; i < 10; i++) q.push(i);
    const before = q.capacity;
    for (let i = 0; i < 1_000_000; i++) {
      q.push(i);
      q.take();
    }
    expect(q.capacity).toBe(before);
    expect(q.length).toBe(10);
  });

  it('waitForMore wakes once at the next push and its canceller removes the waiter', () => {
    const q = new RingQueue<string>();
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

describe('RingQueue.putBack', () => {
  it('returns items to the head in order across wrap-around and growth', () => {
    const queue = new RingQueue<number>();
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
