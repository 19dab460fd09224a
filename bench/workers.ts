// DataProcessingChannel on worker_threads against piscina, the pool a Node user would pick instead:
// (1) a one-shot user's run, cold: a new pool, 120 messages of ~5 ms CPU, drained, closed, all timed;
// (2) the same pools kept warm, 400 messages of ~2 ms; (3) a trivial handler on 100,000 messages,
// batched by the channel, one piscina task each, one plain comlink call each. Same run, alternating rounds.
import { Worker } from 'node:worker_threads';
import { wrap } from 'comlink';
import { Piscina } from 'piscina';
import { DataProcessingChannel, Message, MessageQueueListener } from '../bridge/node-library.js';
import { nodeEndpoint } from '../bridge/workers/comlink-endpoint.js';
import { alternating, median, printTable, printTargets, times } from './table.js';
import { processAll } from './workers-drain.js';
import { roundsFor, spin } from './workers-spin.js';

const HANDLER = new URL('./workers-handler.js', import.meta.url);
const PISCINA = new URL('./workers-piscina.js', import.meta.url).href;
const PLAIN = new URL('./workers-plain.js', import.meta.url);

/** Runs `count` tasks through piscina, all submitted at once, as a user would. */
async function runAll(pool: Piscina, type: string, payload: (i: number) => unknown, count: number): Promise<void> {
  const tasks: Promise<unknown>[] = new Array(count);
  for (let i = 0; i < count; i++) tasks[i] = pool.run({ type, payload: payload(i) });
  await Promise.all(tasks);
}

const piscina = (threads: number) => new Piscina({ filename: PISCINA, minThreads: threads, maxThreads: threads });
const share = (split: number[]) => split.map((n) => `${n}`).join(' / ');
const speedUp = (one: number, many: number) => `${(one / many).toFixed(2)}×`;

// (1) Cold: everything a one-shot run costs, the pool's start included.
const COLD_MESSAGES = 120;
const coldRounds = roundsFor(5);
let split: number[] = [];

async function ericCold(workers: number): Promise<void> {
  const channel = new DataProcessingChannel({ maxWorkers: workers, worker: HANDLER });
  const listener = channel.addListener();
  await processAll(channel, listener, () => new Message('spin', coldRounds), COLD_MESSAGES);
  if (workers === 2) split = channel.progress.perWorker;
  await channel.close();
}

async function piscinaCold(threads: number): Promise<void> {
  const pool = piscina(threads);
  await runAll(pool, 'spin', () => coldRounds, COLD_MESSAGES);
  await pool.destroy();
}

const cold = await alternating([() => ericCold(1), () => ericCold(2), () => piscinaCold(1), () => piscinaCold(2)], 5);
const [ericOne, ericTwo, piscinaOne, piscinaTwo] = cold.wallMs.map(median) as [number, number, number, number];
printTable(
  `Workers, cold (a new pool, ${COLD_MESSAGES} messages × ~5 ms of CPU, closed; pool start timed; ` +
    'median of 5 alternating rounds)',
  ['path', 'wall time', 'speed-up vs 1', 'messages per worker'],
  [
    ['eric-bus DataProcessingChannel, 1 worker', `${ericOne.toFixed(0)} ms`, '1.00×', ''],
    ['eric-bus DataProcessingChannel, 2 workers', `${ericTwo.toFixed(0)} ms`, speedUp(ericOne, ericTwo), share(split)],
    ['baseline: piscina, 1 thread', `${piscinaOne.toFixed(0)} ms`, '1.00×', ''],
    ['baseline: piscina, 2 threads', `${piscinaTwo.toFixed(0)} ms`, speedUp(piscinaOne, piscinaTwo), ''],
  ],
);

// (2) Warm: pools started beforehand and reused.
const WARM_MESSAGES = 400;
const warmRounds = roundsFor(2);

class Spinner extends MessageQueueListener {
  override onMessage(msg: Message): void {
    spin(msg.payload as number);
  }
}

const inThread = new DataProcessingChannel({ maxWorkers: 1 });
const spinner = new Spinner();
inThread.registerListener(spinner);
const channels = [1, 2].map((workers) => new DataProcessingChannel({ maxWorkers: workers, worker: HANDLER }));
const pools = [piscina(1), piscina(2)];
await Promise.all(channels.map((channel) => channel.warmUp()));
const listeners = channels.map((channel) => channel.addListener());
const warm = await alternating(
  [
    () => processAll(inThread, spinner, () => new Message('spin', warmRounds), WARM_MESSAGES),
    ...channels.map(
      (channel, i) => () => processAll(channel, listeners[i]!, () => new Message('spin', warmRounds), WARM_MESSAGES),
    ),
    ...pools.map((pool) => () => runAll(pool, 'spin', () => warmRounds, WARM_MESSAGES)),
  ],
  3,
);
const [main, one, two, pOne, pTwo] = warm.wallMs.map(median) as [number, number, number, number, number];
printTable(
  `Workers, warm (pools started beforehand): ${WARM_MESSAGES} messages × ${(main / WARM_MESSAGES).toFixed(2)} ms ` +
    'of computation (median of 3 alternating rounds)',
  ['path', 'wall time', 'speed-up vs 1'],
  [
    ['main thread (no worker)', `${main.toFixed(0)} ms`, speedUp(one, main)],
    ['eric-bus, 1 worker thread', `${one.toFixed(0)} ms`, '1.00×'],
    ['eric-bus, 2 worker threads', `${two.toFixed(0)} ms`, speedUp(one, two)],
    ['baseline: piscina, 1 thread', `${pOne.toFixed(0)} ms`, '1.00×'],
    ['baseline: piscina, 2 threads', `${pTwo.toFixed(0)} ms`, speedUp(pOne, pTwo)],
  ],
);
printTargets([{ what: 'speed-up at 2 workers', value: one / two, atLeast: 1.8, format: times }]);
await Promise.all([...channels.map((channel) => channel.close()), ...pools.map((pool) => pool.destroy())]);

// (3) Per-message overhead, one worker.
const SMALL_MESSAGES = 100_000;
const trivialChannel = new DataProcessingChannel({ maxWorkers: 1, worker: HANDLER });
await trivialChannel.warmUp();
const trivialListener = trivialChannel.addListener();
const trivialPool = piscina(1);
await trivialPool.run({ type: 'echo', payload: 0 });
const thread = new Worker(PLAIN);
const remote = wrap<{ handle(payload: unknown): unknown }>(nodeEndpoint(thread));
await remote.handle(0);
const trivial = await alternating(
  [
    () => processAll(trivialChannel, trivialListener, (i) => new Message('echo', i), SMALL_MESSAGES),
    () => runAll(trivialPool, 'echo', (i) => i, SMALL_MESSAGES),
    async () => {
      const calls: Promise<unknown>[] = new Array(SMALL_MESSAGES);
      for (let i = 0; i < SMALL_MESSAGES; i++) calls[i] = remote.handle(i);
      await Promise.all(calls);
    },
  ],
  5,
);
await Promise.all([trivialChannel.close(), trivialPool.destroy(), thread.terminate()]);
const [batchedMs, piscinaMs, comlinkMs] = trivial.wallMs.map(median) as [number, number, number];
const perMessage = (ms: number) => `${((ms * 1000) / SMALL_MESSAGES).toFixed(2)} µs`;
printTable(
  `Workers, trivial handler: ${SMALL_MESSAGES.toLocaleString('en')} messages on 1 worker thread ` +
    '(median of 5 alternating rounds)',
  ['path', 'per message', 'vs eric-bus'],
  [
    ['eric-bus, batched (dispatch + processQueue)', perMessage(batchedMs), '1.00×'],
    ['baseline: piscina, one task per message, all in flight', perMessage(piscinaMs), speedUp(piscinaMs, batchedMs)],
    ['plain comlink, one call per message, all in flight', perMessage(comlinkMs), speedUp(comlinkMs, batchedMs)],
  ],
);
printTargets([
  {
    what: 'a plain comlink call vs the batched cost per message',
    value: comlinkMs / batchedMs,
    atLeast: 10,
    format: times,
  },
]);
