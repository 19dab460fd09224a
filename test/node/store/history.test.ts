import { describe, expect, it } from 'vitest';
import { EventHistory, listenerOfId } from '../../../bridge/store/history.js';
import { Message } from '../../../src/index.js';

const messages = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, k) => new Message('n', from + k));
const retained = (history: EventHistory) =>
  Array.from({ length: history.last }, (_, k) => history.at(k + 1)?.payload).filter((n) => n !== undefined);

describe('EventHistory', () => {
  it('numbers deliveries from 1 and names the listener in each id', () => {
    const history = new EventHistory('7', 10);
    expect(history.last).toBe(0);
    history.record(messages(1, 3));
    expect(history.last).toBe(3);
    expect(history.idOf(3)).toBe('7:3');
    expect(listenerOfId('7:3')).toBe('7');
    // A listener id may hold the separator itself: the number is what follows the last one.
    expect(listenerOfId('a:b:12')).toBe('a:b');
    for (const bad of ['12', ':3', '7:', '7:x', '7:03', '7:-1', '']) expect(listenerOfId(bad), bad).toBeUndefined();
  });

  it('writes delivery numbers in plain decimal, across thousands and back', () => {
    const history = new EventHistory('x', 0);
    for (const n of [0, 7, 999, 1000, 1001, 1999, 2000, 12_345, 1_000_000, 999, 123_456_789])
      expect(history.idOf(n)).toBe(`x:${n}`);
  });

  it('keeps the last N on a ring that grows up to N, then overwrites the oldest', () => {
    const history = new EventHistory('1', 40);
    history.record(messages(1, 25));
    expect(retained(history)).toEqual(Array.from({ length: 25 }, (_, k) => k + 1));
    history.record(messages(26, 100));
    expect(history.size).toBe(40);
    expect(retained(history)).toEqual(Array.from({ length: 40 }, (_, k) => 61 + k));
    expect(history.at(60)).toBeUndefined();
    expect(history.at(101)).toBeUndefined();
  });

  it('keeps, besides the last N, the events of its newest window of bytes, as their sizes change', () => {
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);
    const history = new EventHistory('1', 10, 1000);
    // Small lines: the window (1,000 bytes of 10-byte lines) holds 100 events, and 10 more are kept.
    history.record(messages(1, 500), Array(500).fill(10));
    expect(retained(history)).toEqual(range(391, 500));
    // Big lines: the window holds 2 of them (2 × 400 ≤ 1000), and the last 10 are kept besides.
    history.record(messages(501, 520), Array(20).fill(400));
    expect(retained(history)).toEqual(range(509, 520));
    // A line larger than the window: only the last 10.
    history.record(messages(521, 521), [5000]);
    expect(retained(history)).toEqual(range(512, 521));
    expect(history.resumeAfter('1:510')).toEqual({ from: 512, gap: true });
    expect(history.resumeAfter('1:511')).toEqual({ from: 512, gap: false });
    // None at all: the window is for a history that keeps something.
    const none = new EventHistory('1', 0, 1000);
    none.record(messages(1, 5), Array(5).fill(10));
    expect(none.size).toBe(0);
  });

  it('resumes after an id it retains, or at the id of the newest event (nothing to replay)', () => {
    const history = new EventHistory('1', 10);
    history.record(messages(1, 30));
    expect(history.resumeAfter('1:25')).toEqual({ from: 26, gap: false });
    expect(history.resumeAfter('1:30')).toEqual({ from: 31, gap: false });
    // The event just before the oldest retained: everything after it is still there.
    expect(history.resumeAfter('1:20')).toEqual({ from: 21, gap: false });
  });

  it('reports a gap when events after the id are gone, or the id is not this listener’s', () => {
    const history = new EventHistory('1', 10);
    history.record(messages(1, 30));
    expect(history.resumeAfter('1:19')).toEqual({ from: 21, gap: true });
    for (const unknown of ['2:25', '1:31', '1:abc', 'nonsense', '', '1:025'])
      expect(history.resumeAfter(unknown), unknown).toEqual({ from: 21, gap: true });
  });

  it('with a limit of 0 keeps nothing but the numbering: only a resume at the newest id has no gap', () => {
    const history = new EventHistory('1', 0);
    history.record(messages(1, 5));
    expect(history.size).toBe(0);
    expect(history.at(5)).toBeUndefined();
    expect(history.resumeAfter('1:5')).toEqual({ from: 6, gap: false });
    expect(history.resumeAfter('1:4')).toEqual({ from: 6, gap: true });
  });

  it('refuses a limit that is not a whole number of events', () => {
    for (const limit of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => new EventHistory('1', limit)).toThrow(RangeError);
  });
});
