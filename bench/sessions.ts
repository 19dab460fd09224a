// Commands at the wire's speed (docs/protocol.md, "Sessions"): 64 commands in flight through
// SocketClient (a session on our server), against the same commands on one connection each (raw
// one-shot clients, on the same server), against eric-sse's Python server, through the bridge against
// a plain `ws` echo of the same frames, and on the Redis store; plus a command's round trip through
// the bridge against a direct one. Every baseline runs in the same run, in alternation.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { SocketClient, SocketServer, startUp } from '../bridge/index.js';
import { RedisStore } from '../bridge/store/redis.js';
import { BridgeClient } from '../src/index.js';
import { exchange, freePort, hasRedisServer, startRedis } from './servers.js';
import { median, percent, printTable, printTargets, rate, timed, times, windowed } from './table.js';

const COMMANDS = 4_000;
const IN_FLIGHT = 64;
const ROUNDS = 3;
const ROUND_TRIPS = 2_000;
const PEER = fileURLToPath(new URL('../../test/node/python/eric_sse_peer.py', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'eric-bus-bench-sessions-'));
const children: ChildProcess[] = [];
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Each workload's rate in commands/s: `rounds` rounds in alternation after a warm-up, the median. */
async function rates(workloads: (() => Promise<number>)[], rounds = ROUNDS): Promise<number[]> {
  const ms = workloads.map((): number[] => []);
  for (let round = 0; round <= rounds; round++)
    for (const [i, run] of workloads.entries()) {
      const wall = await run();
      if (round > 0) ms[i]!.push(wall);
    }
  return ms.map((xs) => (COMMANDS / median(xs)) * 1000);
}

/** The median of `count` sequential round trips, in µs. */
async function roundTrip(count: number, fn: () => Promise<unknown>): Promise<number> {
  const us: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await fn();
    us.push((performance.now() - start) * 1000);
  }
  return median(us);
}

// Our server in memory, its SocketClient (a session), and one-shot clients on the same server.
const bus = new SocketServer(join(dir, 'bus.sock'));
await bus.listen();
const client = new SocketClient(bus.path);
const c = await client.createChannel();
const l = await client.register(c);
const command = JSON.stringify({ v: 'd', c, r: l, t: 'n', p: 1 });

// eric-sse's Python server (test/node/python reproduces it), in its own process.
const pythonPath = join(dir, 'python.sock');
const python = spawn('python3', [PEER, 'serve', pythonPath], { stdio: ['ignore', 'pipe', 'ignore'] });
children.push(python);
await new Promise<void>((resolve) => python.stdout!.once('data', () => resolve()));
const pythonClient = new SocketClient(pythonPath);
const pc = await pythonClient.createChannel();
const pl = await pythonClient.register(pc);

const [session, raw, py] = await rates([
  () => timed(() => windowed(COMMANDS, IN_FLIGHT, () => client.dispatch(c, l, 'n', 1))),
  () => timed(() => windowed(COMMANDS, IN_FLIGHT, () => exchange(bus.path, command))),
  () => timed(() => windowed(COMMANDS, IN_FLIGHT, () => pythonClient.dispatch(pc, pl, 'n', 1))),
]);
printTable(
  `Socket commands: ${COMMANDS.toLocaleString('en')} 'd', ${IN_FLIGHT} in flight (median of ${ROUNDS}, alternating)`,
  ['path', 'commands/s', 'vs one-shot'],
  [
    ['SocketClient.dispatch (a session)', rate(session), times(session / raw)],
    ['baseline: one connection per command, same server', rate(raw), '1.00×'],
    ["baseline: eric-sse's Python server (one connection each)", rate(py), times(py / raw)],
  ],
);
printTargets([
  { what: 'SocketClient.dispatch vs one-shot commands', value: session / raw, atLeast: 5, format: times },
  { what: "SocketClient.dispatch vs eric-sse's Python server", value: session / py, atLeast: 15, format: times },
]);

// The bridge: BridgeClient through `startUp` (server and bridge in this process, as `eric-bus up`),
// against a plain `ws` server echoing the same JSON frames back with an `ok` (what the page's one
// WebSocket carries at best).
const up = await startUp({ port: 0 });
const bridgeClient = new BridgeClient(up.url, { WebSocket });
const bc = await bridgeClient.createChannel();
const bl = await bridgeClient.register(bc);
const echo = new WebSocketServer({ port: 0, host: '127.0.0.1' });
echo.on('connection', (ws) =>
  ws.on('message', (data: Buffer) => {
    const { id } = JSON.parse(data.toString()) as { id: number };
    ws.send(JSON.stringify({ id, ok: 'ack' }));
  }),
);
await new Promise((resolve) => echo.once('listening', resolve));
const echoSocket = new WebSocket(`ws://127.0.0.1:${(echo.address() as { port: number }).port}/`);
await new Promise((resolve) => echoSocket.once('open', resolve));
const waiting = new Map<number, () => void>();
echoSocket.on('message', (data: Buffer) => {
  const { id } = JSON.parse(data.toString()) as { id: number };
  waiting.get(id)?.();
  waiting.delete(id);
});
let nextId = 0;
const echoCommand = () =>
  new Promise<void>((resolve) => {
    const id = nextId++;
    waiting.set(id, resolve);
    echoSocket.send(JSON.stringify({ id, v: 'd', c: bc, r: bl, t: 'n', p: 1 }));
  });

const [bridged, echoed] = await rates([
  () => timed(() => windowed(COMMANDS, IN_FLIGHT, () => bridgeClient.dispatch(bc, bl, 'n', 1))),
  () => timed(() => windowed(COMMANDS, IN_FLIGHT, echoCommand)),
]);
printTable(
  `Bridge commands: ${COMMANDS.toLocaleString('en')} 'd', ${IN_FLIGHT} in flight on one WebSocket ` +
    `(median of ${ROUNDS})`,
  ['path', 'commands/s', 'vs ws echo'],
  [
    ['BridgeClient.dispatch through eric-bus up (in-process)', rate(bridged), percent(bridged / echoed)],
    ['bound: a plain ws echo of the same frames', rate(echoed), '100 %'],
  ],
);
printTargets([
  { what: 'BridgeClient.dispatch vs the ws echo', value: bridged / echoed, atLeast: 0.5, format: percent },
]);

const direct = await roundTrip(ROUND_TRIPS, () => client.dispatch(c, l, 'n', 1));
const through = await roundTrip(ROUND_TRIPS, () => bridgeClient.dispatch(bc, bl, 'n', 1));
printTable(
  `Round trip: a 'd' answered 'ack', ${ROUND_TRIPS.toLocaleString('en')} in sequence (median)`,
  ['path', 'median', 'vs direct'],
  [
    ['baseline: direct (SocketClient.dispatch)', `${direct.toFixed(0)} µs`, '1.00×'],
    ['through the bridge (BridgeClient.dispatch)', `${through.toFixed(0)} µs`, times(through / direct)],
  ],
);
printTargets([
  // "At most 1.5× the direct round trip", said as a figure that must reach its target.
  { what: 'direct round trip / bridged round trip', value: direct / through, atLeast: 1 / 1.5, format: times },
]);
bridgeClient.close();
echoSocket.close();
echo.close();
await up.close();
await bus.shutdown();

// The Redis store: a session's 64 in flight, against 16 one-shot connections at a time (the figure
// before sessions).
if (!hasRedisServer()) {
  console.log('\nSessions on Redis: skipped (no redis-server; `apt-get install redis-server` to run it)');
} else {
  const port = await freePort();
  children.push(await startRedis(port, dir));
  const store = await RedisStore.connect(`redis://127.0.0.1:${port}`, { prefix: 'bench:' });
  const onRedis = new SocketServer(join(dir, 'redis.sock'), { store });
  await onRedis.listen();
  const redisClient = new SocketClient(onRedis.path);
  const rc = await redisClient.createChannel();
  const rl = await redisClient.register(rc);
  const redisCommand = JSON.stringify({ v: 'd', c: rc, r: rl, t: 'n', p: 1 });
  const [redisSession, redisOneShot] = await rates([
    () => timed(() => windowed(COMMANDS, IN_FLIGHT, () => redisClient.dispatch(rc, rl, 'n', 1))),
    () => timed(() => windowed(COMMANDS, 16, () => exchange(onRedis.path, redisCommand))),
  ]);
  printTable(
    `Redis store: ${COMMANDS.toLocaleString('en')} 'd' (median of ${ROUNDS}, alternating)`,
    ['path', 'commands/s', 'vs one-shot'],
    [
      [
        `SocketClient.dispatch, a session, ${IN_FLIGHT} in flight`,
        rate(redisSession),
        times(redisSession / redisOneShot),
      ],
      ['baseline: one connection per command, 16 at a time', rate(redisOneShot), '1.00×'],
    ],
  );
  printTargets([
    {
      what: 'Redis, a session vs 16 one-shot connections',
      value: redisSession / redisOneShot,
      atLeast: 5,
      format: times,
    },
  ]);
  await onRedis.shutdown();
}
(pythonClient as { close?: () => void }).close?.();
(client as { close?: () => void }).close?.();
// The servers in their own processes would keep this one running.
for (const child of children) child.kill();
