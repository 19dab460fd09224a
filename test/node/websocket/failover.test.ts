// Several bridges on one Redis (docs/bridge.md, "Several bridges"): a BridgeClient on three
// `eric-bus up --redis` processes streams an `l` and a `w` while the process it is on is killed
// (SIGKILL) or drained (SIGTERM) and started again, one after another, for 20 s at about 500
// messages a second; every message arrives once, in order, with no gap event.
import { describe, expect } from 'vitest';
import { WebSocket } from 'ws';
import { SocketClient } from '../../../bridge/index.js';
import { type BridgeClient, MESSAGE_TYPE_GAP, type SSEEvent } from '../../../src/index.js';
import { pokeUntil, sleep } from '../helpers/async.js';
import { numbersOf, startCluster, type UpProcess } from '../helpers/failover.js';
import { it } from '../helpers/fixtures.js';
import { hasRedisServer } from '../helpers/redis.js';

/** How long the processes are stopped and started under the streams (ERIC_BUS_FAILOVER_MS to change it). */
const DURATION_MS = Number(process.env.ERIC_BUS_FAILOVER_MS ?? 20_000);
/** Time between two stops: a few seconds, so each restarted process is back before its turn comes again. */
const EVERY_MS = 3000;
/** Messages per tick of the producer, and ticks a second: about 500 messages a second. */
const BATCH = 10;
const TICK_MS = 20;
/** How long the test may take at most: the run, the start of four processes and Redis, and the tail. */
const TIMEOUT_MS = DURATION_MS + 60_000;

const fast = { initialDelayMs: 50, maxDelayMs: 500 };

/** Reads a stream into `into` in the background. */
function collectInto(stream: AsyncIterable<SSEEvent>, into: SSEEvent[]): Promise<void> {
  return (async () => {
    for await (const event of stream) into.push(event);
  })();
}

/** Waits (bounded) until `done()` holds; false if it never did. */
async function within(ms: number, done: () => boolean): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (done()) return true;
    await sleep(20);
  }
  return done();
}

/**
 * Streams an `l` and a `w` through a client on all three bridges while the bridge it is on is
 * stopped with `signal` and started again, every {@link EVERY_MS}, for {@link DURATION_MS};
 * returns what each stream yielded and how many were sent.
 */
async function streamThroughStops(
  signal: 'SIGKILL' | 'SIGTERM',
  bridgeClient: (urls: string[], options: { WebSocket: typeof WebSocket; reconnect: typeof fast }) => BridgeClient,
) {
  const cluster = await startCluster(3);
  const producer = new SocketClient(cluster.producer.path);
  try {
    const client = bridgeClient(
      cluster.ups.map((up) => up.url),
      { WebSocket, reconnect: fast },
    );
    const c = await producer.createChannel();
    const l = await producer.register(c);
    const got = { l: [] as SSEEvent[], w: [] as SSEEvent[] };
    const reading = [collectInto(client.stream(c, l), got.l), collectInto(client.watch(c), got.w)];
    // The watch's listener exists once a bridge's server has got to it: poke until it hears one.
    await pokeUntil(
      within(10_000, () => got.w.length > 0).then(() => undefined),
      () => producer.broadcastMessage(c, 'hello', null),
      'the watch to start',
    );

    let sent = 0;
    let producing = true;
    const production = (async () => {
      while (producing) {
        for (let k = 0; k < BATCH; k++) await producer.broadcastMessage(c, 'n', ++sent);
        await sleep(TICK_MS);
      }
    })();
    const stops: number[] = [];
    const exitCodes: (number | null)[] = [];
    const restarts: Promise<void>[] = [];
    for (const end = Date.now() + DURATION_MS; Date.now() < end; ) {
      await sleep(EVERY_MS);
      const on: UpProcess | undefined = cluster.ups.find((up) => up.url === client.url);
      if (!on) continue;
      stops.push(sent);
      exitCodes.push(await on.stop(signal));
      // Started again a moment later: meanwhile the client is on another bridge.
      restarts.push(sleep(500).then(() => on.start()));
    }
    producing = false;
    await production;
    await Promise.all(restarts);
    // Everything sent arrives: bounded, generous for a loaded machine.
    await within(30_000, () => numbersOf(got.l).filter((n) => n > 0).length >= sent && got.w.length >= sent);
    client.close();
    await Promise.all(reading);
    return { got, sent, stops, exitCodes };
  } finally {
    producer.close();
    await cluster.close();
  }
}

const range = (to: number) => Array.from({ length: to }, (_, k) => k + 1);

/** Every number once, in order; the `hello`s that started the watch aside; no gap event. */
function expectExactlyOnce(events: readonly SSEEvent[], sent: number): void {
  expect(events.filter((event) => event.event === MESSAGE_TYPE_GAP)).toEqual([]);
  const numbers = numbersOf(events.filter((event) => event.event !== 'hello'));
  expect(numbers.length).toBe(sent);
  expect(numbers).toEqual(range(sent));
}

describe.skipIf(!hasRedisServer)('failover across bridges on one Redis', () => {
  it(
    'the bridge in use SIGKILLed and restarted, one after another: every message once, in order, no gap',
    async ({ bridgeClient }) => {
      const { got, sent, stops } = await streamThroughStops('SIGKILL', bridgeClient);
      expect(stops.length).toBeGreaterThanOrEqual(Math.floor(DURATION_MS / EVERY_MS) - 1);
      expect(sent).toBeGreaterThan(stops.length * 100);
      expectExactlyOnce(got.l, sent);
      expectExactlyOnce(got.w, sent);
    },
    TIMEOUT_MS,
  );

  it(
    'the bridge in use drained (SIGTERM) and restarted, one after another: every message once, in order, no gap',
    async ({ bridgeClient }) => {
      const { got, sent, stops, exitCodes } = await streamThroughStops('SIGTERM', bridgeClient);
      expect(stops.length).toBeGreaterThanOrEqual(Math.floor(DURATION_MS / EVERY_MS) - 1);
      // Each drained and exited by itself, cleanly.
      expect(exitCodes).toEqual(stops.map(() => 0));
      expectExactlyOnce(got.l, sent);
      expectExactlyOnce(got.w, sent);
    },
    TIMEOUT_MS,
  );
});
