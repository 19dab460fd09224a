// Unix-socket protocol: sequential one-connection commands, and streaming a queued backlog
// through 'l', each beside a raw Unix-socket baseline measured in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SocketClient, SocketServer } from '../bridge/index.js';
import { Message } from '../src/index.js';
import { formatEvent } from '../src/wire/socket-protocol.js';
import { countLines } from './count-lines.js';
import { medianMs, printTable, rate } from './table.js';

const COMMANDS = 2_000;
const LINES = 20_000;

const dir = mkdtempSync(join(tmpdir(), 'eric-bus-bench-'));
// Removed however the run ends (a failed run too), not only after the last table.
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
const busPath = join(dir, 'bus.sock');
const echoPath = join(dir, 'echo.sock');
const dumpPath = join(dir, 'dump.sock');
const formatPath = join(dir, 'format.sock');

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve) => server.listen(path, resolve));
}

/** Connects, writes, half-closes and resolves with the reply: the least a one-command exchange costs. */
function exchange(path: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('end', () => resolve(Buffer.concat(chunks).toString()));
    socket.once('connect', () => socket.end(text));
  });
}

const bus = new SocketServer(busPath);
await bus.listen();
const client = new SocketClient(busPath);
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

const dispatchCommand = JSON.stringify({ v: 'd', c, r: l, t: 'tick', p: { i: 0 } });
/** Medians of two workloads timed in alternation, so load on the machine weighs on both alike. */
async function pairedMedians(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  runs = 5,
): Promise<[number, number]> {
  await a();
  await b();
  const times: [number[], number[]] = [[], []];
  for (let run = 0; run < runs; run++) {
    for (const [i, fn] of [a, b].entries()) {
      (globalThis as { gc?: () => void }).gc?.();
      const start = performance.now();
      await fn();
      times[i]!.push(performance.now() - start);
    }
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return [median(times[0]), median(times[1])];
}

const [commandMs, rawCommandMs] = await pairedMedians(
  async () => {
    for (let i = 0; i < COMMANDS; i++) await client.dispatch(c, l, 'tick', { i });
  },
  async () => {
    for (let i = 0; i < COMMANDS; i++) await exchange(echoPath, dispatchCommand);
  },
);

// Each run streams a fresh listener holding LINES queued messages.
let streamed = l;
const fill = () => {
  const listener = channel.addListener();
  for (let i = 0; i < LINES; i++) channel.dispatch(listener.id, new Message('tick', { i }));
  streamed = listener.id;
};
const timedStream = async (read: () => Promise<void>) => {
  const times: number[] = [];
  for (let run = 0; run < 6; run++) {
    fill();
    const start = performance.now();
    await read();
    if (run > 0) times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
};
const streamRawReadMs = await timedStream(() => countLines(busPath, JSON.stringify({ v: 'l', c, r: streamed }), LINES));
const streamClientMs = await timedStream(async () => {
  let n = 0;
  for await (const _ of client.stream(c, streamed)) if (++n === LINES) break;
});
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
  `Socket protocol: streaming ${LINES.toLocaleString('en')} queued messages through 'l' (median of 5)`,
  ['path', 'lines/s', 'vs raw formatting'],
  [
    ["SocketServer 'l', raw reader counting lines", rate(lineRate(streamRawReadMs)), vs(streamRawReadMs)],
    ["SocketServer 'l' → SocketClient.stream (for await per line)", rate(lineRate(streamClientMs)), vs(streamClientMs)],
    ['baseline: raw socket formatting each event, 16 KB writes with backpressure', rate(formatRate), '1.00×'],
    [
      'bound: raw socket writing the same lines pre-formatted, in one write',
      rate(lineRate(rawStreamMs)),
      vs(rawStreamMs),
    ],
  ],
);

await bus.shutdown();
await new Promise((resolve) => echo.close(resolve));
await new Promise((resolve) => dump.close(resolve));
await new Promise((resolve) => format.close(resolve));
