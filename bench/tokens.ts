// Signed tokens: what a verified token costs a command through the bridge, against the shared token,
// in the same run. A `d` round trip on a WebSocket (verified once, at the upgrade; each frame judged
// against its grants, or against an owner the connection has learned) and over REST (each request's
// token: its verification is remembered until it expires).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { SocketServer, signToken, WebSocketBridge } from '../bridge/index.js';
import { alternating, median, printTable, printTargets, times } from './table.js';

const ROUND_TRIPS = 1_000;
const ROUNDS = 9;

const dir = mkdtempSync(join(tmpdir(), 'eric-bus-bench-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
const socketPath = join(dir, 'bus.sock');
const keyFile = join(dir, 'jwt.key');
const secret = 'a benchmark secret of a decent length';
writeFileSync(keyFile, `${secret}\n`, { mode: 0o600 });
const server = new SocketServer(socketPath);
await server.listen();
const bridge = await WebSocketBridge.start({ socketPath, localServer: server, port: 0, jwt: { keyFile } });
const channel = server.channels.add();
const listener = channel.addListener().id;
const granted = await signToken(secret, { sub: 'bench', grants: { channels: { [channel.id]: ['d'] } } });
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

const shared = await openClient(bridge.token);
const scoped = await openClient(granted);
const owning = await openClient(owner);
const owned = (JSON.parse(await owning.call({ v: 'c' })) as { ok: string }).ok;
const ownedListener = (JSON.parse(await owning.call({ v: 'r', c: owned })) as { ok: string }).ok;

const dispatch = { v: 'd', c: channel.id, r: listener, t: 'ping', p: 1 };
const sequence = (send: () => Promise<unknown>) => async () => {
  for (let i = 0; i < ROUND_TRIPS; i++) await send();
};

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
/** One REST dispatch with `token`, on a kept-alive connection. */
function post(token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const body = '{"type":"ping","payload":1}';
    const req = request(
      `http://127.0.0.1:${bridge.port}/channels/${channel.id}/listeners/${listener}/messages`,
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

const workloads = [
  sequence(() => shared.call(dispatch)),
  sequence(() => scoped.call(dispatch)),
  sequence(() => owning.call({ ...dispatch, c: owned, r: ownedListener })),
  sequence(() => post(bridge.token)),
  sequence(() => post(granted)),
];
const { wallMs } = await alternating(workloads, ROUNDS);
// Per round, then the median: a drift in the machine's load between rounds cancels out.
const cost = (path: number, baseline: number) =>
  median(wallMs[path]!.map((ms, round) => ms / wallMs[baseline]![round]!));
const perCall = (path: number) => `${((median(wallMs[path]!) / ROUND_TRIPS) * 1000).toFixed(0)} µs`;
printTable(
  `Signed tokens: a \`d\` command answered \`ack\` through the bridge (in-process), ${ROUND_TRIPS.toLocaleString('en')} in sequence (median of ${ROUNDS} rounds)`,
  ['token', 'per command', 'vs the shared token'],
  [
    ['baseline: the shared token, WebSocket', perCall(0), times(1)],
    ['a signed token granting d on the channel, WebSocket', perCall(1), times(cost(1, 0))],
    ['a signed token whose subject owns the channel, WebSocket', perCall(2), times(cost(2, 0))],
    ['baseline: the shared token, REST (kept-alive connection)', perCall(3), times(1)],
    ['a signed token granting d on the channel, REST', perCall(4), times(cost(4, 3))],
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
]);

for (const client of [shared, scoped, owning]) client.close();
agent.destroy();
await bridge.close();
await server.shutdown();
