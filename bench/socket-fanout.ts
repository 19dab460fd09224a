// Unix-socket protocol against eric-sse's own server, each in its own process so its CPU can be read:
// fan-out (50 `w` watchers, 1,000 `b` broadcasts from 50 concurrent one-shot clients, lines counted
// at the watchers) and 2,000 sequential `d` commands; the Python peer (test/node/python) is the
// baseline, in alternating rounds on fresh servers. For commands, a bare node:net server that only
// replies shows the least a Node server spends on a connection.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, printTable, printTargets, rate, times as ratio } from './table.js';

const WATCHERS = 50;
const BROADCASTS = 1_000;
/**
 * Broadcasts before the measured ones: a server runs for hours, and V8 needs about this many (the
 * first two seconds or so of this workload) before its code and heap settle; measured after 500,
 * our server spent twice the CPU per line it spends from then on. Python's server gets the same.
 */
const WARM_UP_BROADCASTS = 3_000;
const CLIENTS = 50;
const COMMANDS = 2_000;
// Five: the Python server's rate varies by half from one round to the next.
const ROUNDS = 5;

const CLI = fileURLToPath(new URL('../bridge/cli/main.js', import.meta.url));
const PEER = fileURLToPath(new URL('../../test/node/python/eric_sse_peer.py', import.meta.url));
const RAW = fileURLToPath(new URL('./socket-raw-server.js', import.meta.url));
/** The servers, each with whether it runs the fan-out (the bare server knows no channels). */
const servers: [string, (path: string) => ChildProcess, boolean][] = [
  ['eric-bus SocketServer (eric-bus serve)', (path) => spawn(process.execPath, [CLI, 'serve', '--socket', path]), true],
  ["baseline: eric-sse's Python SocketServer", (path) => spawn('python3', [PEER, 'serve', path]), true],
  ['bound: bare node:net server (read, parse, reply, close)', (path) => spawn(process.execPath, [RAW, path]), false],
];

const dir = mkdtempSync(join(tmpdir(), 'eric-bus-bench-'));
const children = new Set<ChildProcess>();
// Removed however the run ends (a failed run too), and no server outlives the benchmark.
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
/** CPU time (user + system) a process has used so far, in ms, from /proc. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/** Connects, writes one command, half-closes and resolves with the reply (one command per connection). */
function exchange(path: string, command: object): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('end', () => {
      resolve(Buffer.concat(chunks).toString());
      socket.destroy();
    });
    socket.once('connect', () => socket.end(JSON.stringify(command)));
  });
}

async function expectReply(path: string, command: object, expected: string): Promise<void> {
  const reply = await exchange(path, command);
  if (reply !== expected) throw new Error(`${JSON.stringify(command)} got ${JSON.stringify(reply)}`);
}

async function startServer(start: (path: string) => ChildProcess): Promise<{ child: ChildProcess; path: string }> {
  const path = join(dir, `${children.size}-${Date.now()}.sock`);
  const child = start(path);
  children.add(child);
  child.stderr!.resume();
  await new Promise((resolve, reject) => {
    child.stdout!.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { child, path };
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  children.delete(child);
}

/** 50 watchers counting the lines they receive; `reach(n)` resolves once they have n in all. */
function watchers(path: string, channel: string) {
  const counts = new Array<number>(WATCHERS).fill(0);
  let total = 0;
  let wanted = Infinity;
  let reached: (() => void) | undefined;
  const sockets: Socket[] = counts.map((_, w) => {
    const socket = connect(path);
    socket.on('data', (chunk: Buffer) => {
      let lines = 0;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
      counts[w]! += lines;
      total += lines;
      if (total >= wanted) reached?.();
    });
    socket.on('error', () => {});
    socket.once('connect', () => socket.end(JSON.stringify({ v: 'w', c: channel })));
    return socket;
  });
  return {
    counts,
    get total() {
      return total;
    },
    reach: (n: number) =>
      new Promise<void>((resolve) => {
        wanted = n;
        reached = resolve;
        if (total >= n) resolve();
      }),
    close: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}

interface Round {
  /** NaN for a server that does not run the fan-out. */
  linesPerSecond: number;
  cpuPerLineUs: number;
  idlePercent: number;
  commandsPerSecond: number;
  cpuPerCommandUs: number;
}

async function round(start: (path: string) => ChildProcess, fanOut: boolean): Promise<Round> {
  const { child, path } = await startServer(start);
  try {
    // Commands first, on a fresh server with no stream open, warmed up as a server that has run a while.
    const c0 = await exchange(path, { v: 'c' });
    const r = await exchange(path, { v: 'r', c: c0 });
    const dispatch = { v: 'd', c: c0, r, t: 'tick', p: { i: 0 } };
    for (let i = 0; i < COMMANDS; i++) await expectReply(path, dispatch, 'ack');
    let cpu = cpuMs(child.pid!);
    let startedAt = performance.now();
    for (let i = 0; i < COMMANDS; i++) await expectReply(path, dispatch, 'ack');
    const commandsPerSecond = COMMANDS / ((performance.now() - startedAt) / 1000);
    const cpuPerCommandUs = ((cpuMs(child.pid!) - cpu) * 1000) / COMMANDS;
    if (!fanOut)
      return { linesPerSecond: NaN, cpuPerLineUs: NaN, idlePercent: NaN, commandsPerSecond, cpuPerCommandUs };

    // Fan-out: every watcher registered (each has had a first line), then the broadcasts.
    const c = await exchange(path, { v: 'c' });
    const watching = watchers(path, c);
    for (let tries = 0; watching.counts.includes(0); tries++) {
      if (tries === 500) throw new Error('watchers did not all start');
      await expectReply(path, { v: 'b', c, t: 'ready' }, 'ack');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    /** Sends `count` broadcasts from the concurrent clients and waits until every watcher has them. */
    const broadcast = async (count: number) => {
      const before = watching.total;
      let next = 0;
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (next < count) {
            const i = next++;
            await expectReply(path, { v: 'b', c, t: 'tick', p: { i, text: 'hello from a broadcaster' } }, 'ack');
          }
        }),
      );
      await watching.reach(before + WATCHERS * count);
    };
    await broadcast(WARM_UP_BROADCASTS);
    cpu = cpuMs(child.pid!);
    startedAt = performance.now();
    await broadcast(BROADCASTS);
    const lines = WATCHERS * BROADCASTS;
    const linesPerSecond = lines / ((performance.now() - startedAt) / 1000);
    const cpuPerLineUs = ((cpuMs(child.pid!) - cpu) * 1000) / lines;

    // Idle: the watchers stay connected with nothing to receive.
    cpu = cpuMs(child.pid!);
    startedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idlePercent = ((cpuMs(child.pid!) - cpu) / (performance.now() - startedAt)) * 100;
    watching.close();
    return { linesPerSecond, cpuPerLineUs, idlePercent, commandsPerSecond, cpuPerCommandUs };
  } finally {
    await stopServer(child);
  }
}

const results = servers.map((): Round[] => []);
for (let i = 0; i < ROUNDS; i++)
  for (const [s, [, start, fanOut]] of servers.entries()) results[s]!.push(await round(start, fanOut));
const summary = results.map((rounds) => ({
  linesPerSecond: median(rounds.map((r) => r.linesPerSecond)),
  cpuPerLineUs: median(rounds.map((r) => r.cpuPerLineUs)),
  idlePercent: median(rounds.map((r) => r.idlePercent)),
  commandsPerSecond: median(rounds.map((r) => r.commandsPerSecond)),
  cpuPerCommandUs: median(rounds.map((r) => r.cpuPerCommandUs)),
}));
const python = summary[1]!;
const names = servers.map(([name]) => name);
const times = (x: number) => `${x.toFixed(1)}×`;
printTable(
  `Socket fan-out: ${WATCHERS} 'w' watchers, ${BROADCASTS.toLocaleString('en')} 'b' broadcasts from ${CLIENTS} ` +
    `concurrent one-shot clients, after ${WARM_UP_BROADCASTS.toLocaleString('en')}; server in its own process ` +
    `(median of ${ROUNDS} alternating rounds)`,
  ['server', 'lines/s', 'vs Python', 'server CPU per line', 'vs Python', 'CPU while watchers idle'],
  summary
    .slice(0, 2)
    .map((s, i) => [
      names[i]!,
      rate(s.linesPerSecond),
      times(s.linesPerSecond / python.linesPerSecond),
      `${s.cpuPerLineUs.toFixed(2)} µs`,
      `${times(python.cpuPerLineUs / s.cpuPerLineUs)} lower`,
      `${s.idlePercent.toFixed(0)} %`,
    ]),
);
const ours = summary[0]!;
printTargets([
  { what: 'lines/s vs Python', value: ours.linesPerSecond / python.linesPerSecond, atLeast: 4, format: ratio },
  {
    what: 'CPU per line, times lower than Python',
    value: python.cpuPerLineUs / ours.cpuPerLineUs,
    atLeast: 4,
    format: ratio,
  },
]);
printTable(
  `Socket commands: ${COMMANDS.toLocaleString('en')} sequential 'd', one connection each, on a fresh server ` +
    `(median of ${ROUNDS} alternating rounds)`,
  ['server', 'commands/s', 'vs Python', 'server CPU per command', 'vs Python'],
  summary.map((s, i) => [
    names[i]!,
    rate(s.commandsPerSecond),
    times(s.commandsPerSecond / python.commandsPerSecond),
    `${s.cpuPerCommandUs.toFixed(0)} µs`,
    `${times(python.cpuPerCommandUs / s.cpuPerCommandUs)} lower`,
  ]),
);
printTargets([
  {
    what: 'CPU per command, times lower than Python',
    value: python.cpuPerCommandUs / ours.cpuPerCommandUs,
    atLeast: 4,
    format: ratio,
  },
]);
