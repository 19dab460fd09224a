// The browser half of bench/workers-browser.ts: the same two measurements as bench/workers.ts, on Web Workers.
import { wrap } from 'comlink';
import { DataProcessingChannel, Message, MessageQueueListener } from 'eric-bus';
import { medianMs } from '../table.js';
import { processAll } from '../workers-drain.js';
import { roundsFor, spin } from '../workers-spin.js';

export interface BrowserFigures {
  cpu: { main: number; one: number; two: number; handSplit: number };
  overhead: { batched: number; plain: number };
}

const CPU_MESSAGES = 400;
const SMALL_MESSAGES = 100_000;
const newWorker = () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const plainWorker = () => {
  const worker = new Worker(new URL('./plain-worker.ts', import.meta.url), { type: 'module' });
  return {
    worker,
    remote: wrap<{ handle(payload: unknown): unknown; spinMany(rounds: number, count: number): number }>(worker),
  };
};

async function onWorkers(
  workers: number,
  type: string,
  payload: (i: number) => unknown,
  count: number,
  runs: number,
): Promise<number> {
  const channel = new DataProcessingChannel({ maxWorkers: workers, worker: newWorker });
  await channel.warmUp();
  const listener = channel.addListener();
  try {
    return await medianMs(() => processAll(channel, listener, (i) => new Message(type, payload(i)), count), runs);
  } finally {
    await channel.close();
  }
}

async function run(): Promise<BrowserFigures> {
  const rounds = roundsFor(2);
  const inThread = new DataProcessingChannel({ maxWorkers: 1 });
  const spinner = new (class extends MessageQueueListener {
    override onMessage(msg: Message): void {
      spin(msg.payload as number);
    }
  })();
  inThread.registerListener(spinner);
  const main = await medianMs(() => processAll(inThread, spinner, () => new Message('spin', rounds), CPU_MESSAGES), 3);
  const one = await onWorkers(1, 'spin', () => rounds, CPU_MESSAGES, 3);
  const two = await onWorkers(2, 'spin', () => rounds, CPU_MESSAGES, 3);
  // What two workers can do here at best: the work split in half by hand, one call each.
  const pair = [plainWorker(), plainWorker()];
  await Promise.all(pair.map(({ remote }) => remote.spinMany(rounds, 1)));
  const handSplit = await medianMs(
    () => Promise.all(pair.map(({ remote }) => remote.spinMany(rounds, CPU_MESSAGES / 2))),
    3,
  );
  for (const { worker } of pair) worker.terminate();

  const batched = await onWorkers(1, 'echo', (i) => i, SMALL_MESSAGES, 5);
  const { worker, remote } = plainWorker();
  await remote.handle(0);
  const plain = await medianMs(async () => {
    const calls: Promise<unknown>[] = new Array(SMALL_MESSAGES);
    for (let i = 0; i < SMALL_MESSAGES; i++) calls[i] = remote.handle(i);
    await Promise.all(calls);
  }, 5);
  worker.terminate();
  return { cpu: { main, one, two, handSplit }, overhead: { batched, plain } };
}

(window as unknown as { benchWorkers: typeof run }).benchWorkers = run;
document.body.dataset.ready = 'true';
