// Metrics: what counting costs (docs/operations.md, "Metrics"). `eric-bus up`'s server and bridge
// in this process, a BridgeClient in front: commands (`d`, many in flight) and a stream, each timed
// with metrics off and on in alternation, in the same run, against the same processes.
import { WebSocket } from 'ws';
import { disableMetrics, enableMetrics, startUp } from '../bridge/index.js';
import { BridgeClient, Message } from '../src/index.js';
import { alternating, median, printTable, printTargets, rate, windowed } from './table.js';

const COMMANDS = 5_000;
const WINDOW = 64;
const EVENTS = 50_000;
const ROUNDS = 9;

// On before the servers start, so that they register what they count; then off and on by turns.
await enableMetrics();
const up = await startUp({ port: 0 });
const client = new BridgeClient(up.url, { WebSocket });
// Commands: broadcasts to a channel with no listener, so that nothing piles up from round to round.
const quiet = await client.createChannel();
const channelId = await client.createChannel();
const streamed = await client.register(channelId);
const channel = up.server.channels.get(channelId);
const message = new Message('tick', { text: 'hello from the backend' });

const commands = () => windowed(COMMANDS, WINDOW, () => client.broadcastMessage(quiet, 'tick', 1));
const fill = () => {
  for (let i = 0; i < EVENTS; i++) channel.dispatch(streamed, message);
};
const stream = async () => {
  for await (const _ of client.stream(channelId, streamed, { limit: EVENTS }));
};
/** A share as `95.3 %`: the target's edge needs the tenth. */
const share = (value: number): string => `${(value * 100).toFixed(1)} %`;

const off = { prepare: () => disableMetrics() };
// Turned on again at once: the instance is kept while off (no import, no await left).
const on = { prepare: () => void enableMetrics() };
/** Times `run` off, on, on, off in each round (so neither always comes first); the off times and the on times. */
async function offAndOn(run: () => Promise<unknown>, prepare: () => void = () => {}): Promise<[number[], number[]]> {
  const offFirst = {
    prepare: () => {
      off.prepare();
      prepare();
    },
    run,
  };
  const onThen = {
    prepare: () => {
      on.prepare();
      prepare();
    },
    run,
  };
  const { cpuMs } = await alternating([offFirst, onThen, onThen, offFirst], ROUNDS);
  return [
    [...cpuMs[0]!, ...cpuMs[3]!],
    [...cpuMs[1]!, ...cpuMs[2]!],
  ];
}

const commandTimes = await offAndOn(commands);
const streamTimes = await offAndOn(stream, fill);
client.close();
await up.close();

// CPU time: everything runs in this process, and it moves less than wall time on a shared machine.
const [commandsOff, commandsOn] = commandTimes.map(median) as [number, number];
const [streamOff, streamOn] = streamTimes.map(median) as [number, number];
printTable(
  `Metrics: their cost, metrics off and on by turns (this process's CPU time, median of ${ROUNDS * 2}, ms; ` +
    `${COMMANDS.toLocaleString('en')} \`b\` through the bridge, ${WINDOW} in flight; ` +
    `a stream of ${EVENTS.toLocaleString('en')} events)`,
  ['workload', 'metrics off', 'metrics on', 'off/on'],
  [
    [
      'commands',
      `${commandsOff.toFixed(0)} (${rate((COMMANDS / commandsOff) * 1000)})`,
      commandsOn.toFixed(0),
      share(commandsOff / commandsOn),
    ],
    [
      'stream',
      `${streamOff.toFixed(0)} (${rate((EVENTS / streamOff) * 1000)})`,
      streamOn.toFixed(0),
      share(streamOff / streamOn),
    ],
  ],
);
printTargets([
  {
    what: 'commands: time with metrics off / on (on costs ≤ 5 %)',
    value: commandsOff / commandsOn,
    atLeast: 0.95,
    format: share,
  },
  {
    what: 'a stream: time with metrics off / on (on costs ≤ 5 %)',
    value: streamOff / streamOn,
    atLeast: 0.95,
    format: share,
  },
]);
