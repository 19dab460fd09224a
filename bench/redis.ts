import { join } from 'node:path';
import { Redis } from 'ioredis';
import { SocketClient, SocketServer } from '../bridge/index.js';
import { RedisStore } from '../bridge/store/redis.js';
import { Message } from '../src/index.js';
import { eventHead } from '../src/wire/socket-protocol.js';
import { countLines } from './count-lines.js';
import { suiteRedis } from './servers.js';
import { median, percent, printTable, printTargets, rate, timed, windowed } from './table.js';

const N = 20_000;
/** Commands in flight at once, for the store and for the raw pipeline alike. */
const WINDOW = 256;
const COMMANDS = 1_000;

const redis = await suiteRedis('Redis store', 'redis');
if (redis) {
  const { url, dir } = redis;
  const store = await RedisStore.connect(url, { prefix: 'bench:' });
  const bus = new SocketServer(join(dir, 'bus.sock'), { store });
  await bus.listen();
  // One connection per command, as the tables say (sessions on Redis: bench/sessions.ts).
  const client = new SocketClient(bus.path, { sessions: false });
  const c = await store.createChannel();

  // The bound: ioredis itself, pipelined: each message serialized and XADDed to a stream (WINDOW
  // per pipeline), and read back by a blocking XREAD loop on a second connection, each entry
  // turned into its line (the least a server must do per message).
  const raw = new Redis(url);
  const rawReader = new Redis(url);
  const lineOf = (i: number) => eventHead({ event: 'tick', retry: 5, data: { i } });
  let rawRound = 0;
  const rawDispatchAndRead = async () => {
    const key = `raw:${rawRound++}`;
    const reading = (async () => {
      let last = '0';
      let seen = 0;
      let out = '';
      while (seen < N) {
        const reply = (await rawReader.xread('COUNT', 1000, 'BLOCK', 0, 'STREAMS', key, last)) as
          | [string, [string, string[]][]][]
          | null;
        const entries = reply![0]![1];
        for (const [id, fields] of entries) out = fields[1] + `,"id":"${id}"}\n`;
        seen += entries.length;
        last = entries.at(-1)![0];
      }
      return out;
    })();
    for (let i = 0; i < N; i += WINDOW) {
      const pipeline = raw.pipeline();
      for (let k = i; k < Math.min(N, i + WINDOW); k++) pipeline.xadd(key, '*', 'e', lineOf(k));
      await pipeline.exec();
    }
    await reading;
    await raw.del(key);
  };

  // The store: N dispatches through RedisStore (WINDOW in flight, ioredis pipelines them), streamed
  // at the same time through the SocketServer's `l` to a reader counting lines.
  const storeDispatchAndStream = async () => {
    const l = await store.addListener(c);
    const reading = countLines(bus.path, JSON.stringify({ v: 'l', c, r: l }), N);
    await windowed(N, WINDOW, (i) => store.dispatch(c, l, new Message('tick', { i })));
    await reading;
    await store.removeListener(c, l);
  };

  // Streaming alone: N messages already queued, streamed through `l`, against raw XREAD of N entries.
  let queued = '';
  const fill = async () => {
    queued = await store.addListener(c);
    await windowed(N, WINDOW, (i) => store.dispatch(c, queued, new Message('tick', { i })));
  };
  const storeStream = () => countLines(bus.path, JSON.stringify({ v: 'l', c, r: queued }), N);
  const rawFill = async () => {
    const pipeline = raw.pipeline();
    for (let k = 0; k < N; k++) pipeline.xadd('raw:queued', '*', 'e', lineOf(k));
    await pipeline.exec();
  };
  const rawRead = async () => {
    let last = '0';
    for (let seen = 0; seen < N; ) {
      const reply = (await rawReader.xread('COUNT', 1000, 'STREAMS', 'raw:queued', last)) as [
        string,
        [string, string[]][],
      ][];
      const entries = reply[0]![1];
      seen += entries.length;
      last = entries.at(-1)![0];
    }
  };

  const both: [number[], number[]] = [[], []];
  const streams: [number[], number[]] = [[], []];
  await rawDispatchAndRead();
  await storeDispatchAndStream();
  for (let run = 0; run < 5; run++) {
    both[0].push(await timed(storeDispatchAndStream));
    both[1].push(await timed(rawDispatchAndRead));
    await fill();
    streams[0].push(await timed(storeStream));
    await store.removeListener(c, queued);
    await rawFill();
    streams[1].push(await timed(rawRead));
    await raw.del('raw:queued');
  }

  // One command per connection, as clients send them: the socket protocol's cost on Redis vs in memory.
  const memory = new SocketServer(join(dir, 'memory.sock'));
  await memory.listen();
  const memoryClient = new SocketClient(memory.path, { sessions: false });
  const mc = await memoryClient.createChannel();
  const ml = await memoryClient.register(mc);
  const rl = await client.register(c);
  const commands: [number[], number[]] = [[], []];
  for (let run = 0; run < 3; run++) {
    commands[0].push(await timed(() => windowed(COMMANDS, 16, (i) => client.dispatch(c, rl, 'tick', { i }))));
    commands[1].push(await timed(() => windowed(COMMANDS, 16, (i) => memoryClient.dispatch(mc, ml, 'tick', { i }))));
  }

  const perSecond = (count: number, ms: number) => count / (ms / 1000);
  const [storeBoth, rawBoth] = both.map((xs) => perSecond(N, median(xs))) as [number, number];
  const [storeStreamRate, rawStreamRate] = streams.map((xs) => perSecond(N, median(xs))) as [number, number];
  printTable(
    `Redis store: ${N.toLocaleString('en')} messages to one listener, dispatched (${WINDOW} in flight) ` +
      'while streamed (median of 5)',
    ['path', 'messages/s', 'vs raw ioredis'],
    [
      ["RedisStore.dispatch + SocketServer 'l' (raw reader)", rate(storeBoth), `${(storeBoth / rawBoth).toFixed(2)}×`],
      ['bound: ioredis pipelined XADD + blocking XREAD loop', rate(rawBoth), '1.00×'],
    ],
  );
  printTargets([
    {
      what: 'dispatch + stream through the store vs bare ioredis',
      value: storeBoth / rawBoth,
      atLeast: 0.5,
      format: percent,
    },
  ]);
  printTable(
    `Redis store: streaming ${N.toLocaleString('en')} queued messages (median of 5)`,
    ['path', 'messages/s', 'vs raw ioredis'],
    [
      [
        "SocketServer 'l' on Redis (raw reader)",
        rate(storeStreamRate),
        `${(storeStreamRate / rawStreamRate).toFixed(2)}×`,
      ],
      ['bound: ioredis XREAD COUNT 1000 loop', rate(rawStreamRate), '1.00×'],
    ],
  );
  const [redisCommands, memoryCommands] = commands.map((xs) => perSecond(COMMANDS, median(xs))) as [number, number];
  printTable(
    `Socket protocol: ${COMMANDS.toLocaleString('en')} 'd' commands, 16 connections at a time (median of 3)`,
    ['store', 'commands/s', 'vs in memory'],
    [
      ['Redis', rate(redisCommands), `${(redisCommands / memoryCommands).toFixed(2)}×`],
      ['in memory', rate(memoryCommands), '1.00×'],
    ],
  );

  await memory.shutdown();
  await bus.shutdown();
  raw.disconnect();
  rawReader.disconnect();
  redis.stop();
}
