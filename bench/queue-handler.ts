// Worker thread for bench/queue.ts: a 'hold' message's first delivery never finishes in a process
// started with QUEUE_HOLD (the one the benchmark kills); anything else comes straight back, doubled.
import { exposeHandler } from '../bridge/workers/expose-in-thread.js';

exposeHandler(({ type, payload, deliveries }) => {
  if (type === 'hold' && process.env.QUEUE_HOLD && deliveries === 1) {
    process.stdout.write('holding\n');
    return new Promise(() => {});
  }
  return { n: (payload as { n: number }).n * 2 };
});
