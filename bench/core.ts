// Core bus: dispatch 1 M messages to one listener and drain them, against Node's
// queue-plus-async-iterator (events.on) and a synchronous mitt emit loop (an upper bound).
import { EventEmitter, on } from 'node:events';
import mittModule from 'mitt';
import { Message, SSEChannel } from '../src/index.js';
import { medianMs, printTable, rate } from './table.js';

// mitt's typings are CommonJS-shaped while Node loads its ESM build, whose default export is the function.
const mitt = mittModule as unknown as typeof mittModule.default;

const N = 1_000_000;
const messages = Array.from({ length: N }, (_, i) => new Message('tick', i));

async function viaStream(count: number): Promise<void> {
  const channel = new SSEChannel();
  const listener = channel.addListener();
  listener.startSync();
  for (let i = 0; i < count; i++) channel.dispatch(listener.id, messages[i]!);
  let n = 0;
  for await (const _ of channel.messageStream(listener)) if (++n === count) break;
}

async function viaBatches(count: number): Promise<void> {
  const channel = new SSEChannel();
  const listener = channel.addListener();
  listener.startSync();
  for (let i = 0; i < count; i++) channel.dispatch(listener.id, messages[i]!);
  let n = 0;
  for await (const batch of channel.messageBatches(listener)) if ((n += batch.length) === count) break;
}

async function viaEventsOn(count: number): Promise<void> {
  const emitter = new EventEmitter();
  const stream = on(emitter, 'm');
  for (let i = 0; i < count; i++) emitter.emit('m', messages[i]);
  let n = 0;
  for await (const _ of stream) if (++n === count) break;
}

function viaMitt(count: number): void {
  const bus = mitt<{ m: Message }>();
  let n = 0;
  bus.on('m', () => void n++);
  for (let i = 0; i < count; i++) bus.emit('m', messages[i]!);
}

const runs: [string, (n: number) => unknown][] = [
  ['eric-bus dispatch + messageStream', viaStream],
  ['eric-bus dispatch + messageBatches', viaBatches],
  ['baseline: events.on (emit + for await)', viaEventsOn],
  ['bound: mitt emit loop (sync, no queue)', viaMitt],
];

const results: [string, number][] = [];
for (const [name, fn] of runs) results.push([name, N / ((await medianMs(() => fn(N))) / 1000)]);
const eventsOn = results[2]![1];
printTable(
  `Core bus: ${N.toLocaleString('en')} messages to one listener, dispatched then drained (median of 5)`,
  ['path', 'messages/s', 'vs events.on'],
  results.map(([name, r]) => [name, rate(r), `${(r / eventsOn).toFixed(2)}×`]),
);

const small = await medianMs(() => viaStream(N / 10));
const large = await medianMs(() => viaStream(N));
printTable(
  'Core bus: scaling (O(1) queue: 10× the messages should cost about 10× the time)',
  ['messages', 'ms', 'ratio'],
  [
    [(N / 10).toLocaleString('en'), small.toFixed(1), '1.00×'],
    [N.toLocaleString('en'), large.toFixed(1), `${(large / small).toFixed(2)}×`],
  ],
);
