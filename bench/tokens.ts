// Signed tokens: what a verified token costs a command through the bridge, against the shared token,
// in the same run. A `d` round trip on a WebSocket (verified once, at the upgrade; each frame judged
// against its grants, or against an owner the connection has learned) and over REST (each request's
// token: its verification is remembered until it expires; an owner the bridge has learned).
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { SocketServer, signToken, WebSocketBridge } from '../bridge/index.js';
import { BACKEND_SESSIONS } from '../bridge/relay/backend.js';
import { benchDir } from './servers.js';
import { median, printTable, printTargets, times } from './table.js';

const ROUND_TRIPS = 1_000;
const ROUNDS = 9;

const dir = benchDir();
const socketPath = join(dir, 'bus.sock');
const keyFile = join(dir, 'jwt.key');
const secret = 'a benchmark secret of a decent length';
writeFileSync(keyFile, `${secret}\n`, { mode: 0o600 });
const server = new SocketServer(socketPath);
await server.listen();
const bridge = await WebSocketBridge.start({ socketPath, localServer: server, port: 0, jwt: { keyFile } });
const owner = await signToken(secret, { sub: 'owner', grants: { create: true } });

/** A WebSocket to the bridge with `token`: `call` sends a command and resolves at its reply frame. */
async function openClient(token: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${bridge.port}/?token=${encodeURIComponent(token)}`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let nextId = 0;
  let done: ((reply: string) => void) | null = null;
  ws.on('message', (data) => done?.(String(data)));
  return {
    call: (command: object) =>
      new Promise<string>((resolve) => {
        done = resolve;
        ws.send(JSON.stringify({ id: ++nextId, ...command }));
      }),
    close: () => ws.close(),
  };
}

/**
 * A WebSocket on each of the bridge's sessions to the server ({@link BACKEND_SESSIONS}, given out in
 * turn), used in turn: each kind of token then runs on every session alike (they differ by more than
 * a token does).
 */
async function openClients(token: string) {
  const clients: Awaited<ReturnType<typeof openClient>>[] = [];
  for (let i = 0; i < BACKEND_SESSIONS; i++) clients.push(await openClient(token));
  let next = 0;
  return {
    call: (command: object) => clients[next++ % clients.length]!.call(command),
    close: () => {
      for (const client of clients) client.close();
    },
  };
}

const shared = await openClients(bridge.token);
const owning = await openClients(owner);
// One channel and listener for every path: its owner's, which the other tokens are granted.
const channel = (JSON.parse(await owning.call({ v: 'c' })) as { ok: string }).ok;
const listener = (JSON.parse(await owning.call({ v: 'r', c: channel })) as { ok: string }).ok;
const granted = await signToken(secret, { sub: 'bench', grants: { channels: { [channel]: ['d'] } } });
const scoped = await openClients(granted);

const dispatch = { v: 'd', c: channel, r: listener, t: 'ping', p: 1 };

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
/** One REST dispatch with `token`, on a kept-alive connection. */
function post(token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const body = '{"type":"ping","payload":1}';
    const req = request(
      `http://127.0.0.1:${bridge.port}/channels/${channel}/listeners/${listener}/messages`,
      {
        method: 'POST',
        agent,
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          'Content-Length': body.length,
        },
      },
      (res) => {
        res.resume();
        res.once('end', resolve);
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

const paths = [
  () => shared.call(dispatch),
  () => scoped.call(dispatch),
  () => owning.call(dispatch),
  () => post(bridge.token),
  () => post(granted),
  () => post(owner),
];
// Command by command in turn, each timed alone: whatever else loads the machine weighs on all of them
// alike. Round 0 warms up.
const wallMs = paths.map((): number[] => []);
const order = paths.map((_, k) => k);
/** `items` in a random order (Fisher–Yates), in place. */
function shuffled(items: number[]): number[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
for (let round = 0; round <= ROUNDS; round++) {
  const spent = paths.map(() => 0);
  (globalThis as { gc?: () => void }).gc?.();
  for (let i = 0; i < ROUND_TRIPS; i++) {
    // In a new order each time: what a command follows (a REST request, say) weighs on all alike.
    for (const k of shuffled(order)) {
      const start = performance.now();
      await paths[k]!();
      spent[k]! += performance.now() - start;
    }
  }
  if (round > 0) for (const [k, ms] of spent.entries()) wallMs[k]!.push(ms);
}
// Per round, then the median: a drift in the machine's load between rounds cancels out.
const cost = (path: number, baseline: number) =>
  median(wallMs[path]!.map((ms, round) => ms / wallMs[baseline]![round]!));
const perCall = (path: number) => `${((median(wallMs[path]!) / ROUND_TRIPS) * 1000).toFixed(0)} µs`;
printTable(
  `Signed tokens: a \`d\` command answered \`ack\` through the bridge (in-process), ` +
    `${ROUND_TRIPS.toLocaleString('en')} in sequence (median of ${ROUNDS} rounds)`,
  ['token', 'per command', 'vs the shared token'],
  [
    ['baseline: the shared token, WebSocket', perCall(0), times(1)],
    ['a signed token granting d on the channel, WebSocket', perCall(1), times(cost(1, 0))],
    ['a signed token whose subject owns the channel, WebSocket', perCall(2), times(cost(2, 0))],
    ['baseline: the shared token, REST (kept-alive connection)', perCall(3), times(1)],
    ['a signed token granting d on the channel, REST', perCall(4), times(cost(4, 3))],
    ['a signed token whose subject owns the channel, REST', perCall(5), times(cost(5, 3))],
  ],
);
printTargets([
  {
    what: 'a command with a verified token vs the shared token (WebSocket)',
    value: cost(1, 0),
    atMost: 1.1,
    format: times,
  },
  {
    what: 'a command on an owned channel vs the shared token (WebSocket)',
    value: cost(2, 0),
    atMost: 1.1,
    format: times,
  },
  { what: 'a command with a verified token vs the shared token (REST)', value: cost(4, 3), atMost: 1.1, format: times },
  { what: 'a command on an owned channel vs the shared token (REST)', value: cost(5, 3), atMost: 1.1, format: times },
]);

for (const client of [shared, scoped, owning]) client.close();
agent.destroy();
await bridge.close();
await server.shutdown();
