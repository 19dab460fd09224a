import { describe, expect, it } from 'vitest';
import { BatchSizer, TARGET_BATCH_MS } from '../../../src/workers/batch-sizer.js';

describe('BatchSizer', () => {
  it('starts at one message and doubles while batches are quick, up to maxBatch', () => {
    const sizer = new BatchSizer(1024);
    const sizes = [sizer.size];
    for (let i = 0; i < 12; i++) {
      sizer.observe(sizer.size, sizer.size * 0.001); // 1 µs a message
      sizes.push(sizer.size);
    }
    expect(sizes).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1024, 1024]);
  });

  it('stays at one message for handlers that take longer than a batch should', () => {
    const sizer = new BatchSizer(1024);
    for (let i = 0; i < 5; i++) sizer.observe(1, 5);
    expect(sizer.size).toBe(1);
  });

  it('settles where a batch fills the target time, and shrinks when messages get slower', () => {
    const sizer = new BatchSizer(1024);
    const perMessage = TARGET_BATCH_MS / 40;
    for (let i = 0; i < 10; i++) sizer.observe(sizer.size, sizer.size * perMessage);
    expect(sizer.size).toBe(40);
    sizer.observe(40, 40 * perMessage * 4);
    expect(sizer.size).toBe(10);
  });

  it('grows when the clock is too coarse to see a batch, and ignores empty ones', () => {
    const sizer = new BatchSizer(8);
    sizer.observe(0, 100);
    expect(sizer.size).toBe(1);
    for (const ms of [0, undefined, 0, 0]) sizer.observe(sizer.size, ms);
    expect(sizer.size).toBe(8);
  });
});
