// Web Worker for the browser benchmark, with plain comlink: the trivial handler (one call per
// message), and a loop of spins (the hand-split upper bound for the CPU-bound case).
import { expose } from 'comlink';
import { spin } from '../workers-spin.js';

expose({
  handle: (payload: unknown) => payload,
  spinMany(rounds: number, count: number): number {
    let x = 0;
    for (let i = 0; i < count; i++) x ^= spin(rounds);
    return x;
  },
});
