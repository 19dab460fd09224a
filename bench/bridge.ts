// WebSocket bridge: streaming throughput through the bridge (its WebSocket and its Server-Sent
// Events) against reading the same stream straight from the Unix socket, and the round trip of a
// `d` command, all in the same run.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { WebSocket } from 'ws';
import { BridgeThread, SocketClient, SocketServer, WebSocketBridge } from '../bridge/index.js';
import { Message } from '../src/index.js';
import type { ReadRequest } from './bridge-reader.js';
import { benchDir } from './servers.js';
import { percent, printTable, printTargets, rate } from './table.js';

const N = 200_000;
const RUNS = 9;
const ROUND_TRIPS = 2_000;

const dir = benchDir();
const socketPath = join(dir, 'bus.sock');
const server = new SocketServer(socketPath);
await server.listen();
const channel = server.channels.add();
const messages = Array.from({ length: N }, (_, i) => new Message('tick', { n: i, text: 'hello from the backend' }));

/** A listener with N messages waiting, made in-process so filling is not what is measured. */
function filledListener(): string {
  const listener = channel.addListener();
  for (const message of messages) channel.dispatch(listener.id, message);
  return listener.id;
}

const reader = new Worker(new URL('./bridge-reader.js', import.meta.url));
reader.on('error', (error) => {
  console.error('bridge bench: the reader thread failed:', error);
  process.exit(1);
});

/** Where the reader reads from: the socket, a bridge's WebSocket, or a bridge's HTTP face (its base URL). */
type Path =
  | { kind: 'direct'; socketPath: string }
  | { kind: 'bridge'; url: string }
  | { kind: 'sse'; base: string; token: string };

/** Has the reader thread read N events of the listener, directly or through a bridge; resolves with its ms. */
function read(path: Path, listenerId: string): Promise<number> {
  const request: ReadRequest =
    path.kind === 'sse'
      ? {
          kind: 'sse',
          url: `${path.base}/channels/${channel.id}/listeners/${listenerId}/events`,
          token: path.token,
          events: N,
        }
      : { ...path, command: { v: 'l', c: channel.id, r: listenerId }, events: N };
  return new Promise((resolve) => {
    reader.once('message', resolve);
    reader.postMessage(request);
  });
}

/** A WebSocket to a bridge for round trips: sends a command, resolves at its reply frame. */
async function openBridgeClient(url: string) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let nextId = 0;
  let done: (() => void) | null = null;
  ws.on('message', () => done?.());
  return {
    dispatch: (listenerId: string) =>
      new Promise<void>((resolve) => {
        done = resolve;
        ws.send(JSON.stringify({ id: ++nextId, v: 'd', c: channel.id, r: listenerId, t: 'ping', p: 1 }));
      }),
    close: () => ws.close(),
  };
}

async function timeStream(how: Path): Promise<number> {
  const listenerId = filledListener();
  (globalThis as { gc?: () => void }).gc?.();
  const ms = await read(how, listenerId);
  channel.removeListener(listenerId);
  return ms;
}

async function roundTrips(send: () => Promise<unknown>): Promise<{ median: number; p99: number }> {
  for (let i = 0; i < 200; i++) await send();
  const times: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const start = performance.now();
    await send();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, p99: times[Math.floor(times.length * 0.99)]! };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const inProcess = await WebSocketBridge.start({ socketPath, port: 0 });
const threaded = await BridgeThread.start({ socketPath, port: 0 });
const workerUrl = threaded.url;
const viaInProcess = await openBridgeClient(inProcess.url);
const viaWorker = await openBridgeClient(workerUrl);

const paths = {
  direct: { kind: 'direct', socketPath },
  inProcess: { kind: 'bridge', url: inProcess.url },
  worker: { kind: 'bridge', url: workerUrl },
  sseInProcess: { kind: 'sse', base: `http://127.0.0.1:${inProcess.port}`, token: inProcess.token },
  sseWorker: { kind: 'sse', base: `http://127.0.0.1:${threaded.port}`, token: threaded.token },
} as const satisfies Record<string, Path>;
// Warm up every path, then interleave the runs so each sees the same machine state.
for (const how of Object.values(paths)) await timeStream(how);
const times = Object.fromEntries(Object.keys(paths).map((name) => [name, [] as number[]])) as Record<
  keyof typeof paths,
  number[]
>;
for (let run = 0; run < RUNS; run++)
  for (const [name, how] of Object.entries(paths)) times[name as keyof typeof paths].push(await timeStream(how));
// Each round measures every path back to back, so the ratio is taken per round (then the
// median): drifts in machine load between rounds cancel out.
const ratio = (path: keyof typeof times) => median(times[path].map((ms, round) => times.direct[round]! / ms));
const streamRows: [string, keyof typeof times][] = [
  ['baseline: direct from the Unix socket', 'direct'],
  ['via the bridge, in-process', 'inProcess'],
  ['via the bridge, on its own thread (BridgeThread)', 'worker'],
  ["via the bridge's Server-Sent Events, in-process", 'sseInProcess'],
  ["via the bridge's Server-Sent Events, on its own thread", 'sseWorker'],
];
printTable(
  `Bridge streaming: ${N.toLocaleString('en')} events of one listener, WebSocket and SSE (median of ${RUNS}; ` +
    'server and in-process bridge on the main thread, reader in a worker thread)',
  ['path', 'events/s', 'vs direct'],
  streamRows.map(([name, path]) => [name, rate(N / (median(times[path]) / 1000)), percent(ratio(path))]),
);
// README's targets are for a bridge on its own core; in-process figures are shown, not judged.
printTargets([
  { what: 'WebSocket on its own thread vs direct', value: ratio('worker'), atLeast: 0.8, format: percent },
  { what: 'Server-Sent Events on its own thread vs direct', value: ratio('sseWorker'), atLeast: 0.7, format: percent },
]);

const listenerId = channel.addListener().id;
const socketClient = new SocketClient(socketPath);
const latency: [string, { median: number; p99: number }][] = [
  [
    'baseline: direct (SocketClient.dispatch)',
    await roundTrips(() => socketClient.dispatch(channel.id, listenerId, 'ping', 1)),
  ],
  ['via the bridge, in-process', await roundTrips(() => viaInProcess.dispatch(listenerId))],
  ['via the bridge, on its own thread (BridgeThread)', await roundTrips(() => viaWorker.dispatch(listenerId))],
];
printTable(
  `Bridge round trip: a \`d\` command answered \`ack\`, ${ROUND_TRIPS.toLocaleString('en')} in sequence`,
  ['path', 'median', 'p99'],
  latency.map(([name, t]) => [name, `${(t.median * 1000).toFixed(0)} µs`, `${(t.p99 * 1000).toFixed(0)} µs`]),
);

viaInProcess.close();
viaWorker.close();
reader.postMessage({ kind: 'close' } satisfies ReadRequest);
await new Promise((resolve) => reader.once('exit', resolve));
await inProcess.close();
await threaded.close();
await server.shutdown();
