// Work across processes: a DataProcessingChannel on a Redis work queue against BullMQ, the queue a Node
// user would pick, on the same redis-server in the same run: (1) messages/s with two worker processes,
// each message's result back in the dispatching process; (2) how long after a worker is SIGKILLed its
// message is taken over, with each one's defaults. Skipped when there is no redis-server.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { redisWorkQueue } from '../bridge/index.js';
import { DataProcessingChannel, Message, type MessageQueueListener } from '../bridge/node-library.js';
import { suiteRedis } from './servers.js';
import { alternating, median, printTable, printTargets, rate, times } from './table.js';

const PROCESS = fileURLToPath(new URL('./queue-process.js', import.meta.url));
const N = 5000;
const ROUNDS = 3;
/** BullMQ runs its jobs on the worker process's own thread, this many at once (its users raise it for throughput). */
const BULLMQ_CONCURRENCY = 32;
/** The default visibilityMs of redisWorkQueue. */
const VISIBILITY_MS = 5000;
/** Longest wait for a killed worker's message to come back (BullMQ's defaults take up to a minute). */
const RECLAIM_LIMIT_MS = 120_000;

type System = 'eric' | 'bullmq';

const redis = await suiteRedis('Work queue', 'queue');
if (redis) {
  const { url, port } = redis;
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const children = new Set<ChildProcess>();
  process.once('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });

  /** A worker process of `system` on queue `name`: `ready` once it takes messages, `holding` once it holds one. */
  const workerProcess = (system: System, name: string, hold = false) => {
    const child = spawn(process.execPath, [PROCESS, system, url, name, String(BULLMQ_CONCURRENCY)], {
      env: { ...process.env, QUEUE_HOLD: hold ? '1' : '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      wake?.();
    });
    let wake: (() => void) | undefined;
    const said = (word: string) =>
      new Promise<void>((resolve, reject) => {
        wake = () => out.includes(word) && resolve();
        wake();
        child.once('exit', (code) => reject(new Error(`the ${system} worker process exited with ${code}`)));
      });
    return { child, ready: said('ready'), holding: () => said('holding') };
  };
  const stop = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });

  // eric-bus: a dispatch-only channel in this process.
  const ericChannel = (name: string) => {
    const channel = new DataProcessingChannel({ maxWorkers: 1, queue: redisWorkQueue(url, name) });
    return { channel, listener: channel.addListener() };
  };
  const drain = async (channel: DataProcessingChannel, listener: MessageQueueListener, count: number) => {
    let n = 0;
    for await (const _ of channel.processQueue(listener)) n++;
    if (n !== count) throw new Error(`expected ${count} results, got ${n}`);
  };

  // BullMQ: a Queue to add jobs in bulk, QueueEvents to hear each one's result, as its users do across processes.
  const bullmq = async (name: string) => {
    const queue = new Queue(name, { connection });
    const events = new QueueEvents(name, { connection });
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    let completed = 0;
    let onCompleted: (() => void) | undefined;
    events.on('completed', () => {
      completed++;
      onCompleted?.();
    });
    const until = (count: number) =>
      new Promise<void>((resolve) => {
        onCompleted = () => completed >= count && resolve();
        onCompleted();
      });
    return { queue, events, until, completed: () => completed };
  };
  const jobOptions = { removeOnComplete: true, removeOnFail: true };

  // (1) Throughput: two worker processes each, the results back here.
  const eric = ericChannel('bench-eric');
  const ericWorkers = [workerProcess('eric', 'bench-eric'), workerProcess('eric', 'bench-eric')];
  const bull = await bullmq('bench-bullmq');
  const bullWorkers = [workerProcess('bullmq', 'bench-bullmq'), workerProcess('bullmq', 'bench-bullmq')];
  await Promise.all([...ericWorkers, ...bullWorkers].map((worker) => worker.ready));

  const { wallMs } = await alternating(
    [
      async () => {
        await Promise.all(
          Array.from({ length: N }, (_, n) => eric.channel.dispatch(eric.listener.id, new Message('job', { n }))),
        );
        await drain(eric.channel, eric.listener, N);
      },
      async () => {
        const target = bull.completed() + N;
        const done = bull.until(target);
        for (let from = 0; from < N; from += 1000) {
          const jobs = Array.from({ length: Math.min(1000, N - from) }, (_, i) => ({
            name: 'job',
            data: { n: from + i },
            opts: jobOptions,
          }));
          await bull.queue.addBulk(jobs);
        }
        await done;
      },
    ],
    ROUNDS,
  );
  const [ericRate, bullRate] = wallMs.map((ms) => (N * 1000) / median(ms)) as [number, number];
  await Promise.all([...ericWorkers, ...bullWorkers].map((worker) => stop(worker.child)));
  await eric.channel.close();

  // (2) Reclaim: one process holds a message and is SIGKILLed; the time until its result comes back
  // from the other process, each queue with its defaults.
  const ericReclaim = async (): Promise<number> => {
    const name = 'bench-eric-reclaim';
    const { channel, listener } = ericChannel(name);
    const holder = workerProcess('eric', name, true);
    await holder.ready;
    await channel.dispatch(listener.id, new Message('hold', { n: 1 }));
    await holder.holding();
    const other = workerProcess('eric', name);
    await other.ready;
    const start = performance.now();
    await stop(holder.child);
    await drain(channel, listener, 1);
    const ms = performance.now() - start;
    await stop(other.child);
    await channel.close();
    return ms;
  };
  const bullReclaim = async (): Promise<number> => {
    const name = 'bench-bullmq-reclaim';
    const { queue, events, until } = await bullmq(name);
    const holder = workerProcess('bullmq', name, true);
    await holder.ready;
    await queue.add('hold', { n: 1 }, jobOptions);
    await holder.holding();
    const other = workerProcess('bullmq', name);
    await other.ready;
    const start = performance.now();
    await stop(holder.child);
    const limit = new Promise<void>((resolve) => setTimeout(resolve, RECLAIM_LIMIT_MS).unref());
    await Promise.race([until(1), limit]);
    const ms = performance.now() - start;
    await stop(other.child);
    await Promise.all([queue.close(), events.close()]);
    return ms;
  };
  const ericReclaimMs = await ericReclaim();
  const bullReclaimMs = await bullReclaim();
  await Promise.all([bull.queue.close(), bull.events.close()]);
  redis.stop();

  printTable(
    `Work queue: ${N.toLocaleString('en')} messages via Redis, 2 worker processes, results back (median of ${ROUNDS})`,
    ['queue', 'messages/s', 'vs BullMQ'],
    [
      ['DataProcessingChannel + redisWorkQueue (1 worker thread each)', rate(ericRate), times(ericRate / bullRate)],
      [`BullMQ (concurrency ${BULLMQ_CONCURRENCY} each), addBulk + QueueEvents`, rate(bullRate), '1.00×'],
    ],
  );
  printTable(
    'Work queue: a SIGKILLed worker process’s message, until its result arrives from the other process (defaults)',
    ['queue', 'ms', 'vs BullMQ'],
    [
      [
        `redisWorkQueue (visibilityMs ${VISIBILITY_MS})`,
        ericReclaimMs.toFixed(0),
        times(ericReclaimMs / bullReclaimMs),
      ],
      [
        'BullMQ (lockDuration, stalledInterval 30 000)',
        bullReclaimMs >= RECLAIM_LIMIT_MS ? `> ${RECLAIM_LIMIT_MS}` : bullReclaimMs.toFixed(0),
        '1.00×',
      ],
    ],
  );
  printTargets([
    { what: 'messages/s through the queue vs BullMQ', value: ericRate / bullRate, atLeast: 1, format: times },
    {
      what: 'reclaim within 2 × visibilityMs (2 × visibilityMs / reclaim time)',
      value: (2 * VISIBILITY_MS) / ericReclaimMs,
      atLeast: 1,
      format: times,
    },
    {
      what: 'reclaim speed vs BullMQ (its time / ours)',
      value: bullReclaimMs / ericReclaimMs,
      atLeast: 1,
      format: times,
    },
  ]);
}
