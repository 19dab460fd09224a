import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { timerAt } from '../../src/timer-at.js';

const DAY = 24 * 60 * 60 * 1000;

describe('timerAt', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('fires once at a time past what one setTimeout waits (about 24.8 days), not before', () => {
    const fire = vi.fn();
    timerAt(30 * DAY, fire);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(30 * DAY - (2 ** 31 - 1) - 1);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(60 * DAY);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('fires at once for a time that has passed; cancelled, even after a step, never', () => {
    const past = vi.fn();
    timerAt(-5, past);
    vi.advanceTimersByTime(0);
    expect(past).toHaveBeenCalledTimes(1);
    const cancelled = vi.fn();
    const cancel = timerAt(30 * DAY, cancelled);
    vi.advanceTimersByTime(2 ** 31);
    cancel();
    vi.advanceTimersByTime(60 * DAY);
    expect(cancelled).not.toHaveBeenCalled();
  });
});
