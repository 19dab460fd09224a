// Unix-socket protocol: sequential one-connection commands, streaming a queued backlog through
// 'l' (with event ids and without), and resuming a stream from its history, each beside a
// baseline measured in the same run.
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { SocketClient, SocketServer } from '../bridge/index.js';
import { feedToSocket } from '../bridge/socket/stream-to-socket.js';
import { MemoryFeed } from '../bridge/store/memory.js';
import { Message } from '../src/index.js';
import { formatEvent } from '../src/wire/socket-protocol.js';
import { countLines } from './count-lines.js';
import { benchDir, exchange } from './servers.js';
import { alternating, median, medianMs, printTable, rate } from './table.js';

const COMMANDS = 2_000;
const LINES = 20_000;
const REPLAYED = 1_000;
const RESUME_RUNS = 51;

const dir = benchDir();
const busPath = join(dir, 'bus.sock');
const echoPath = join(dir, 'echo.sock');
const dumpPath = join(dir, 'dump.sock');
const formatPath = join(dir, 'format.sock');
const plainPath = join(dir, 'plain.sock');

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve) => server.listen(path, resolve));
}

const bus = new SocketServer(busPath);
await bus.listen();
// One connection per command and per stream, as this suite's tables say (sessions: bench/sessions.ts).
const client = new SocketClient(busPath, { sessions: false });
const c = await client.createChannel();
const l = await client.register(c);
const channel = bus.channels.get(c);

// Baseline 1: an echo server (read to end of file, write it back, close).
const echo = createServer({ allowHalfOpen: true }, (socket) => {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  socket.once('end', () => socket.end(Buffer.concat(chunks)));
});
await listen(echo, echoPath);

// Baseline 2: a server that writes the same event lines, already formatted, and closes.
const events = Array.from({ length: LINES }, (_, i) => formatEvent(channel.adapt(new Message('tick', { i })))).join('');
const dump = createServer({ allowHalfOpen: true }, (socket) => {
  socket.resume();
  socket.once('end', () => socket.end(events));
});
await listen(dump, dumpPath);

// Baseline 3: a server that formats each event as it goes and writes 16 KB chunks, honouring backpressure.
const backlog = Array.from({ length: LINES }, (_, i) => new Message('tick', { i }));
const format = createServer({ allowHalfOpen: true }, (socket) => {
  socket.resume();
  socket.once('end', () => {
    let next = 0;
    const write = (): void => {
      while (next < LINES) {
        let chunk = '';
        while (next < LINES && chunk.length < socket.writableHighWaterMark)
          chunk += formatEvent(channel.adapt(backlog[next++]!));
        if (!socket.write(Buffer.from(chunk))) return void socket.once('drain', write);
      }
      socket.end();
    };
    write();
  });
  socket.on('error', () => {});
});
await listen(format, formatPath);

// The server's stream loop without a history (eric-sse's plain lines, no ids), serving the listener
// the timed run fills: what ids and histories cost.
let streamed = l;
const plain = createServer({ allowHalfOpen: true }, (socket) => {
  socket.resume();
  socket.once('end', () => {
    const listener = channel.getListener(streamed);
    listener.startSync();
    void feedToSocket(new MemoryFeed(channel, listener), socket);
  });
  socket.on('error', () => {});
});
await listen(plain, plainPath);

const dispatchCommand = JSON.stringify({ v: 'd', c, r: l, t: 'tick', p: { i: 0 } });
/** A fresh listener holding `count` queued messages, which the next timed stream reads. */
const fill = (count: number) => {
  const listener = channel.addListener();
  for (let i = 0; i < count; i++) channel.dispatch(listener.id, new Message('tick', { i }));
  streamed = listener.id;
};

/** A workload to time; with `fill`, it reads a fresh listener holding that many queued messages. */
interface Filled {
  fill?: number;
  run: () => Promise<unknown>;
}

/** Median wall and CPU times (ms, this process: server and reader) of workloads timed in alternation. */
async function pairedMedians(workloads: Filled[], runs = 5): Promise<{ wall: number[]; cpu: number[] }> {
  const { wallMs, cpuMs } = await alternating(
    workloads.map(({ fill: count, run }) => ({
      prepare: count ? () => fill(count) : undefined,
      run,
      // Its stream waits on an empty queue: removing the listener ends it.
      finish: count ? () => channel.removeListener(streamed) : undefined,
    })),
    runs,
  );
  return { wall: wallMs.map(median), cpu: cpuMs.map(median) };
}

const {
  wall: [commandMs, rawCommandMs],
} = await pairedMedians([
  {
    run: async () => {
      for (let i = 0; i < COMMANDS; i++) await client.dispatch(c, l, 'tick', { i });
    },
  },
  {
    run: async () => {
      for (let i = 0; i < COMMANDS; i++) await exchange(echoPath, dispatchCommand);
    },
  },
]);

const listenCommand = () => JSON.stringify({ v: 'l', c, r: streamed });
const STREAM_RUNS = 9;
const {
  wall: [streamRawReadMs, streamPlainMs, streamClientMs],
  cpu: [streamRawReadCpu, streamPlainCpu],
} = await pairedMedians(
  [
    { fill: LINES, run: () => countLines(busPath, listenCommand(), LINES) },
    { fill: LINES, run: () => countLines(plainPath, '{}', LINES) },
    {
      fill: LINES,
      run: async () => {
        let n = 0;
        for await (const _ of client.stream(c, streamed)) if (++n === LINES) break;
      },
    },
  ],
  STREAM_RUNS,
);

// Resuming: a listener whose history holds REPLAYED + 1 delivered events; each resume comes after the
// first, so the server replays the REPLAYED others from its history. Against: a plain 'l' of as many queued.
fill(REPLAYED + 1);
const resumeCommand = JSON.stringify({ v: 'l', c, r: streamed, i: `${streamed}:1` });
await countLines(busPath, listenCommand(), REPLAYED + 1);
const {
  wall: [plainStreamMs, resumeMs],
} = await pairedMedians(
  [
    { fill: REPLAYED, run: () => countLines(busPath, listenCommand(), REPLAYED) },
    { run: () => countLines(busPath, resumeCommand, REPLAYED) },
  ],
  RESUME_RUNS,
);

const rawStreamMs = await medianMs(() => countLines(dumpPath, '{}', LINES));
const formatStreamMs = await medianMs(() => countLines(formatPath, '{}', LINES));

const commandRate = COMMANDS / (commandMs / 1000);
const rawCommandRate = COMMANDS / (rawCommandMs / 1000);
printTable(
  `Socket protocol: ${COMMANDS.toLocaleString('en')} sequential 'd' commands, one connection each (median of 5)`,
  ['path', 'commands/s', 'vs raw echo'],
  [
    ['SocketClient.dispatch → SocketServer', rate(commandRate), `${(commandRate / rawCommandRate).toFixed(2)}×`],
    ['baseline: raw Unix-socket echo (connect, write, end, read, close)', rate(rawCommandRate), '1.00×'],
  ],
);

const lineRate = (ms: number) => LINES / (ms / 1000);
const formatRate = lineRate(formatStreamMs);
const vs = (ms: number) => `${(lineRate(ms) / formatRate).toFixed(2)}×`;
printTable(
  `Socket protocol: streaming ${LINES.toLocaleString('en')} queued messages through 'l' ` +
    `(median of ${STREAM_RUNS}, alternating; baselines median of 5)`,
  ['path', 'lines/s', 'vs raw formatting'],
  [
    ["SocketServer 'l', raw reader counting lines", rate(lineRate(streamRawReadMs)), vs(streamRawReadMs)],
    [
      "the same stream loop without ids or history (eric-sse's plain lines)",
      rate(lineRate(streamPlainMs)),
      vs(streamPlainMs),
    ],
    ["SocketServer 'l' → SocketClient.stream (for await per line)", rate(lineRate(streamClientMs)), vs(streamClientMs)],
    ['baseline: raw socket formatting each event, 16 KB writes with backpressure', rate(formatRate), '1.00×'],
    [
      'bound: raw socket writing the same lines pre-formatted, in one write',
      rate(lineRate(rawStreamMs)),
      vs(rawStreamMs),
    ],
  ],
);

const cpuPerLine = (ms: number) => `${((ms * 1000) / LINES).toFixed(2)} µs`;
const extra = (withIds: number, without: number) => `${((withIds / without - 1) * 100).toFixed(0)} %`;
console.log(
  `\nEvent ids and history: ${extra(streamRawReadMs, streamPlainMs)} more wall time, ` +
    `${extra(streamRawReadCpu, streamPlainCpu)} more CPU (${cpuPerLine(streamRawReadCpu)} a line with, ` +
    `${cpuPerLine(streamPlainCpu)} without; server and reader).`,
);

const perEvent = (ms: number) => `${((ms * 1000) / REPLAYED).toFixed(2)} µs`;
printTable(
  `Socket protocol: resuming a stream that replays ${REPLAYED.toLocaleString('en')} events from the history ` +
    `(median of ${RESUME_RUNS}, alternating)`,
  ['path', 'per stream', 'per event', 'vs plain stream'],
  [
    [
      `baseline: plain 'l' of ${REPLAYED.toLocaleString('en')} queued events`,
      `${plainStreamMs.toFixed(2)} ms`,
      perEvent(plainStreamMs),
      '1.00×',
    ],
    [
      `'l' with 'i', replaying ${REPLAYED.toLocaleString('en')} events`,
      `${resumeMs.toFixed(2)} ms`,
      perEvent(resumeMs),
      `${(resumeMs / plainStreamMs).toFixed(2)}×`,
    ],
  ],
);

await bus.shutdown();
await new Promise((resolve) => plain.close(resolve));
await new Promise((resolve) => echo.close(resolve));
await new Promise((resolve) => dump.close(resolve));
await new Promise((resolve) => format.close(resolve));
