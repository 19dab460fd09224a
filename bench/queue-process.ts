// A worker process for bench/queue.ts: `node queue-process.js eric|bullmq URL NAME [CONCURRENCY]`. Does the same work
// either way (the handler of queue-handler.ts: doubles `n`; with QUEUE_HOLD, a 'hold' message's first
// run never ends); says "ready" once it takes messages.
import { Worker } from 'bullmq';
import { redisWorkQueue } from '../bridge/index.js';
import { DataProcessingChannel } from '../bridge/node-library.js';

const [system, url, name, concurrency = '1'] = process.argv.slice(2) as [string, string, string, string?];
if (system === 'eric') {
  const channel = new DataProcessingChannel({
    maxWorkers: 1,
    worker: new URL('./queue-handler.js', import.meta.url),
    queue: redisWorkQueue(url, name),
  });
  await channel.warmUp();
} else {
  const { hostname, port } = new URL(url);
  const worker = new Worker(
    name,
    async (job) => {
      if (job.name === 'hold' && process.env.QUEUE_HOLD) {
        process.stdout.write('holding\n');
        return new Promise(() => {});
      }
      return { n: (job.data as { n: number }).n * 2 };
    },
    {
      connection: { host: hostname, port: Number(port), maxRetriesPerRequest: null },
      concurrency: Number(concurrency),
    },
  );
  await worker.waitUntilReady();
}
process.stdout.write('ready\n');
