// DataProcessingChannel on worker_threads: (1) a ~2 ms CPU-bound handler on 400 messages in the
// main thread and on 1 and 2 workers; (2) a trivial handler on 100,000 messages, batched by the
// channel versus one plain comlink call per message, measured in the same run.
import { Worker } from 'node:worker_threads';
import { wrap } from 'comlink';
import { nodeWorker } from '../bridge/index.js';
import { nodeEndpoint } from '../bridge/workers/comlink-endpoint.js';
import { DataProcessingChannel, Message, MessageQueueListener } from '../src/index.js';
import { medianMs, printTable } from './table.js';
import { roundsFor, spin } from './workers-spin.js';

const HANDLER = new URL('./workers-handler.js', import.meta.url);
const PLAIN = new URL('./workers-plain.js', import.meta.url);

/** Dispatches `count` messages to a fresh listener and drains processQueue; resolves with how many came out. */
async function processAll(
  channel: DataProcessingChannel,
  listener: MessageQueueListener,
  type: string,
  payload: (i: number) => unknown,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) channel.dispatch(listener.id, new Message(type, payload(i)));
  let n = 0;
  for await (const _ of channel.processQueue(listener)) n++;
  if (n !== count) throw new Error(`expected ${count} events, got ${n}`);
}

// (1) CPU-bound.
const CPU_MESSAGES = 400;
const rounds = roundsFor(2);

class Spinner extends MessageQueueListener {
  override onMessage(msg: Message): void {
    spin(msg.payload as number);
  }
}

async function cpuInMainThread(): Promise<number> {
  const channel = new DataProcessingChannel({ maxWorkers: 1 });
  const listener = new Spinner();
  channel.registerListener(listener);
  return medianMs(() => processAll(channel, listener, 'spin', () => rounds, CPU_MESSAGES), 3);
}

async function cpuOnWorkers(workers: number): Promise<number> {
  const channel = new DataProcessingChannel({ maxWorkers: workers, worker: nodeWorker(HANDLER) });
  await channel.warmUp();
  const listener = channel.addListener();
  try {
    return await medianMs(() => processAll(channel, listener, 'spin', () => rounds, CPU_MESSAGES), 3);
  } finally {
    await channel.close();
  }
}

const main = await cpuInMainThread();
const one = await cpuOnWorkers(1);
const two = await cpuOnWorkers(2);
printTable(
  `DataProcessingChannel, CPU-bound: ${CPU_MESSAGES} messages × ${(main / CPU_MESSAGES).toFixed(2)} ms ` +
    'of computation (median of 3)',
  ['where', 'wall time', 'speed-up vs 1 worker'],
  [
    ['main thread (no worker)', `${main.toFixed(0)} ms`, `${(one / main).toFixed(2)}×`],
    ['1 worker thread', `${one.toFixed(0)} ms`, '1.00×'],
    ['2 worker threads', `${two.toFixed(0)} ms`, `${(one / two).toFixed(2)}×`],
  ],
);

// (2) Per-message overhead.
const SMALL_MESSAGES = 100_000;

async function batched(): Promise<number> {
  const channel = new DataProcessingChannel({ maxWorkers: 1, worker: nodeWorker(HANDLER) });
  await channel.warmUp();
  const listener = channel.addListener();
  try {
    return await medianMs(() => processAll(channel, listener, 'echo', (i) => i, SMALL_MESSAGES), 5);
  } finally {
    await channel.close();
  }
}

async function plainComlink(pipelined: boolean): Promise<number> {
  const thread = new Worker(PLAIN);
  const remote = wrap<{ handle(payload: unknown): unknown }>(nodeEndpoint(thread));
  await remote.handle(0);
  try {
    return await medianMs(
      async () => {
        if (pipelined) {
          const calls: Promise<unknown>[] = new Array(SMALL_MESSAGES);
          for (let i = 0; i < SMALL_MESSAGES; i++) calls[i] = remote.handle(i);
          await Promise.all(calls);
        } else {
          for (let i = 0; i < SMALL_MESSAGES; i++) await remote.handle(i);
        }
      },
      pipelined ? 5 : 3,
    );
  } finally {
    await thread.terminate();
  }
}

const batchedMs = await batched();
const pipelinedMs = await plainComlink(true);
const sequentialMs = await plainComlink(false);
const perMessage = (ms: number) => `${((ms * 1000) / SMALL_MESSAGES).toFixed(2)} µs`;
printTable(
  `DataProcessingChannel, trivial handler: ${SMALL_MESSAGES.toLocaleString('en')} messages on 1 worker thread ` +
    '(median of 5; 3 for the slowest)',
  ['path', 'per message', 'vs batched'],
  [
    ['eric-bus, batched (dispatch + processQueue)', perMessage(batchedMs), '1.00×'],
    [
      'plain comlink, one call per message, all in flight',
      perMessage(pipelinedMs),
      `${(pipelinedMs / batchedMs).toFixed(1)}×`,
    ],
    [
      'plain comlink, one call per message, awaited in turn',
      perMessage(sequentialMs),
      `${(sequentialMs / batchedMs).toFixed(1)}×`,
    ],
  ],
);
