// Core bus: 1 M messages to one listener, each made as a user makes it (`new Message` inside the
// timed loop), dispatched then drained, against Node's queue-plus-async-iterator (events.on) and a
// synchronous mitt emit loop (an upper bound); the paths run in alternating rounds, best of 4.
import { EventEmitter, on } from 'node:events';
import mittModule from 'mitt';
import { Message, SSEChannel } from '../src/index.js';
import { alternating, printTable, printTargets, rate, times as ratio } from './table.js';

// mitt's typings are CommonJS-shaped while Node loads its ESM build, whose default export is the function.
const mitt = mittModule as unknown as typeof mittModule.default;

const N = 1_000_000;
const ROUNDS = 4;

async function viaStream(count: number): Promise<void> {
  const channel = new SSEChannel();
  const listener = channel.addListener();
  listener.startSync();
  for (let i = 0; i < count; i++) channel.dispatch(listener.id, new Message('tick', i));
  let n = 0;
  for await (const _ of channel.messageStream(listener)) if (++n === count) break;
}

async function viaBatches(count: number): Promise<void> {
  const channel = new SSEChannel();
  const listener = channel.addListener();
  listener.startSync();
  for (let i = 0; i < count; i++) channel.dispatch(listener.id, new Message('tick', i));
  let n = 0;
  for await (const batch of channel.messageBatches(listener)) if ((n += batch.length) === count) break;
}

async function viaEventsOn(count: number): Promise<void> {
  const emitter = new EventEmitter();
  const stream = on(emitter, 'm');
  for (let i = 0; i < count; i++) emitter.emit('m', new Message('tick', i));
  let n = 0;
  for await (const _ of stream) if (++n === count) break;
}

function viaMitt(count: number): void {
  const bus = mitt<{ m: Message }>();
  let n = 0;
  bus.on('m', () => void n++);
  for (let i = 0; i < count; i++) bus.emit('m', new Message('tick', i));
}

const paths: [string, (n: number) => unknown][] = [
  ['eric-bus dispatch + messageStream', viaStream],
  ['eric-bus dispatch + messageBatches', viaBatches],
  ['baseline: events.on (emit + for await)', viaEventsOn],
  ['bound: mitt emit loop (sync, no queue)', viaMitt],
];

const { wallMs, cpuMs } = await alternating(
  paths.map(
    ([, fn]) =>
      () =>
        fn(N),
  ),
  ROUNDS,
);
const rates = wallMs.map((ms) => N / (Math.min(...ms) / 1000));
const cpuPerMessage = cpuMs.map((ms) => (Math.min(...ms) * 1e6) / N);
const times = (i: number) => `${(rates[i]! / rates[2]!).toFixed(2)}×`;
const cpuTimes = (i: number) => `${(cpuPerMessage[2]! / cpuPerMessage[i]!).toFixed(2)}×`;
printTable(
  `Core bus: ${N.toLocaleString('en')} messages made, dispatched to one listener and drained ` +
    `(alternating rounds, best of ${ROUNDS})`,
  ['path', 'messages/s', 'vs events.on', 'CPU per message', 'vs events.on (CPU)'],
  paths.map(([name], i) => [name, rate(rates[i]!), times(i), `${cpuPerMessage[i]!.toFixed(0)} ns`, cpuTimes(i)]),
);
printTargets([
  { what: 'dispatch + messageStream vs events.on', value: rates[0]! / rates[2]!, atLeast: 1.2, format: ratio },
  { what: 'dispatch + messageBatches vs events.on', value: rates[1]! / rates[2]!, atLeast: 2, format: ratio },
]);

const scaling = await alternating([() => viaStream(N / 10), () => viaStream(N)], ROUNDS);
const [small, large] = scaling.wallMs.map((ms) => Math.min(...ms));
printTable(
  'Core bus: scaling (O(1) queue: 10× the messages should cost about 10× the time)',
  ['messages', 'ms', 'ratio'],
  [
    [(N / 10).toLocaleString('en'), small!.toFixed(1), '1.00×'],
    [N.toLocaleString('en'), large!.toFixed(1), `${(large! / small!).toFixed(2)}×`],
  ],
);
