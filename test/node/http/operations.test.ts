// What an operator asks (docs/operations.md): /healthz, /readyz following Redis down and back,
// /metrics counting what the test did, JSON log lines, and serve --http-port.

import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { WebSocket } from 'ws';
import {
  disableMetrics,
  enableMetrics,
  MemoryStore,
  RedisStore,
  signToken,
  startUp,
  type Up,
} from '../../../bridge/index.js';
import { BridgeClient, InvalidListenerException, type SSEEvent, silentLogger } from '../../../src/index.js';
import { pokeUntil, sleep, take, until } from '../helpers/async.js';
import { upgrade } from '../helpers/bridge.js';
import { runCli } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';
import { openSse } from '../helpers/http.js';
import { hasRedisServer, startRedis } from '../helpers/redis.js';
import { hmacKeyFile } from '../helpers/tokens.js';

/** GET `path` on the bridge's port: its status, body and content type. */
async function get(up: Up, path: string) {
  const response = await fetch(`${up.url.replace('ws:', 'http:').replace(/\/\?.*/, '')}${path}`);
  return {
    status: response.status,
    body: await response.text(),
    type: response.headers.get('content-type'),
    challenge: response.headers.get('www-authenticate'),
  };
}

/** Polls `path` (bounded: 30 s) until it answers `status`. */
async function untilStatus(up: Up, path: string, status: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await get(up, path)).status === status) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${path} to answer ${status}`);
}

/** A sample's value in Prometheus' text format: `name{labels} value`, 0 when absent. */
function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe.skipIf(!hasRedisServer)('/readyz follows Redis', () => {
  it('503 with the reason while Redis is down, 200 once it is back; /healthz 200 throughout', async () => {
    const redis = await startRedis();
    await enableMetrics();
    // Quiet: the store says on stderr that Redis went and came back, which the test brings about.
    const store = await RedisStore.connect(redis.url, { logger: silentLogger });
    const up = await startUp({ server: { store } });
    try {
      expect(await get(up, '/readyz')).toMatchObject({ status: 200, body: 'ready\n' });
      await redis.stop();
      await untilStatus(up, '/readyz', 503);
      expect((await get(up, '/readyz')).body).toBe('not ready: the redis store is unreachable\n');
      expect((await get(up, '/healthz')).status).toBe(200);
      await redis.start();
      await untilStatus(up, '/readyz', 200);
      await fetch(`${up.url.replace('ws:', 'http:').replace(/\?.*/, '')}channels?token=${up.token}`, {
        method: 'POST',
      });
      const text = (await get(up, `/metrics?token=${up.token}`)).body;
      expect(sample(text, 'ericbus_redis_round_trips_total')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'ericbus_commands_total', 'verb="c",result="ok"')).toBe(1);
    } finally {
      disableMetrics();
      await up.close();
      await redis.close();
    }
  }, 90_000);
});

describe('/metrics', () => {
  beforeAll(async () => {
    await enableMetrics();
  });
  afterAll(() => disableMetrics());

  it('counts commands by verb and result, streams open, events relayed and refusals', async () => {
    const up = await startUp({ port: 0 });
    const client = new BridgeClient(up.url, { WebSocket });
    try {
      const before = (await get(up, `/metrics?token=${up.token}`)).body;
      const c = await client.createChannel();
      const l = await client.register(c);
      for (let n = 0; n < 5; n++) await client.dispatch(c, l, 'n', n);
      for (let n = 0; n < 3; n++) await client.broadcastMessage(c, 'b', n);
      await expect(client.dispatch(c, '999', 'n', 0)).rejects.toThrow(InvalidListenerException);
      const listened: SSEEvent[] = await take(client.stream(c, l), 8);
      const watch = client.watch(c)[Symbol.asyncIterator]();
      // The watch's listener exists once the server has got to it: poke until it hears one.
      let pokes = 0;
      await pokeUntil(watch.next(), () => client.broadcastMessage(c, 'b', 3 + pokes++), 'the watch to start');
      const refused = await fetch(`${up.url.replace('ws:', 'http:').replace(/\?.*/, '')}channels?token=wrong`, {
        method: 'POST',
      });
      expect(refused.status).toBe(401);
      // A Server-Sent Events stream, open while the metrics are read.
      const l2 = await client.register(c);
      const base = up.url.replace('ws:', 'http:').replace(/\/\?.*/, '');
      const sse = await openSse(`${base}/channels/${c}/listeners/${l2}/events?token=${up.token}`);
      await client.dispatch(c, l2, 'n', 1);
      await sse.events(1);

      expect(await get(up, '/metrics')).toMatchObject({
        status: 401,
        body: "Unauthorized: /metrics needs the bridge's shared token\n",
        challenge: 'Bearer realm="eric-bus"',
      });
      const scraped = await get(up, `/metrics?token=${up.token}`);
      expect(scraped.status).toBe(200);
      expect(scraped.type).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = scraped.body;
      const delta = (name: string, labels = '') => sample(text, name, labels) - sample(before, name, labels);
      expect(delta('ericbus_commands_total', 'verb="c",result="ok"')).toBe(1);
      expect(delta('ericbus_commands_total', 'verb="r",result="ok"')).toBe(2);
      expect(delta('ericbus_commands_total', 'verb="d",result="ok"')).toBe(6);
      expect(delta('ericbus_commands_total', 'verb="d",result="error"')).toBe(1);
      expect(delta('ericbus_commands_total', 'verb="b",result="ok"')).toBe(3 + pokes);
      expect(delta('ericbus_commands_total', 'verb="l",result="ok"')).toBe(2);
      expect(delta('ericbus_commands_total', 'verb="w",result="ok"')).toBe(1);
      expect(sample(text, 'ericbus_streams_open', 'face="websocket"')).toBe(1);
      expect(sample(text, 'ericbus_connections_open', 'face="websocket"')).toBe(1);
      expect(sample(text, 'ericbus_streams_open', 'face="sse"')).toBe(1);
      expect(sample(text, 'ericbus_connections_open', 'face="sse"')).toBe(1);
      expect(delta('ericbus_events_relayed_total', 'face="sse"')).toBe(1);
      // The bridge's sessions to its server (in process, under up): at least the one its commands took.
      expect(sample(text, 'ericbus_connections_open', 'face="session"')).toBeGreaterThanOrEqual(1);
      expect(delta('ericbus_events_relayed_total', 'face="websocket"')).toBeGreaterThanOrEqual(listened.length + 1);
      expect(delta('ericbus_refusals_total', 'reason="token"')).toBe(1);
      expect(delta('ericbus_command_duration_seconds_count', 'hop="bridge"')).toBeGreaterThanOrEqual(11);
      expect(delta('ericbus_command_duration_seconds_count', 'hop="server"')).toBeGreaterThanOrEqual(11);
      for (const family of ['backpressure_pauses', 'resumes', 'gaps', 'redis_round_trips', 'redis_errors'])
        expect(text).toContain(`# TYPE ericbus_${family}_total counter`);
      // The pokes reached listener l too, whose stream had ended: they wait in its queue.
      expect(sample(text, 'ericbus_messages_waiting')).toBeGreaterThanOrEqual(pokes);
      await watch.return?.();
      sse.close();
    } finally {
      client.close();
      await up.close();
    }
  });

  it('counts a stream resumed with an id, and the gap of one resumed after what the history still holds', async () => {
    const up = await startUp({ server: { store: new MemoryStore({ history: 2, historyBytes: 0 }) } });
    const client = new BridgeClient(up.url, { WebSocket });
    try {
      const scrape = async () => (await get(up, `/metrics?token=${up.token}`)).body;
      const c = await client.createChannel();
      const l = await client.register(c);
      for (let n = 1; n <= 5; n++) await client.dispatch(c, l, 'n', n);
      const events = await take(client.stream(c, l), 5);
      const before = await scrape();
      // Resumed after the fourth: the history holds it, so no gap; after the first: it is gone.
      for (let n = 6; n <= 7; n++) await client.dispatch(c, l, 'n', n);
      const resumed = await take(client.stream(c, l, { lastEventId: events[3]!.id! }), 1);
      expect(resumed.map((event) => event.data)).toEqual([5]);
      const gapped = await take(client.stream(c, l, { lastEventId: events[0]!.id! }), 1);
      expect(gapped[0]!.event).toBe('_eric_gap');
      const after = await scrape();
      const delta = (name: string) => sample(after, name) - sample(before, name);
      expect([delta('ericbus_resumes_total'), delta('ericbus_gaps_total')]).toEqual([2, 1]);
    } finally {
      client.close();
      await up.close();
    }
  });

  it('counts a wrong token, a foreign origin, a verb not allowed and a command outside the grants', async ({ dir }) => {
    const { file, secret } = hmacKeyFile(dir);
    const up = await startUp({ allow: ['c', 'r', 'd', 'b', 'l', 'w', 'rl'], jwt: { keyFile: file } });
    try {
      const base = up.url.replace('ws:', 'http:').replace(/\/\?.*/, '');
      const scrape = async () => (await get(up, `/metrics?token=${up.token}`)).body;
      const before = await scrape();
      const post = (path: string, headers: Record<string, string>) =>
        fetch(`${base}${path}`, { method: 'POST', headers });
      const noCreate = await signToken(secret, { sub: 'ann', grants: { channels: { '*': ['b'] } } });
      const statuses = [
        (await post('/channels?token=wrong', {})).status,
        (await post(`/channels?token=${up.token}`, { Origin: 'https://evil.example' })).status,
        (await fetch(`${base}/channels/1?token=${up.token}`, { method: 'DELETE' })).status,
        (await post('/channels', { Authorization: `Bearer ${noCreate}` })).status,
        // Not granted, so the bridge asks who owns the channel: nobody, it does not exist.
        (
          await fetch(`${base}/channels/999/listeners/1/messages`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${noCreate}` },
            body: '{"type": "x"}',
          })
        ).status,
      ];
      expect(statuses).toEqual([401, 403, 403, 403, 403]);
      const after = await scrape();
      const delta = (reason: string) =>
        sample(after, 'ericbus_refusals_total', `reason="${reason}"`) -
        sample(before, 'ericbus_refusals_total', `reason="${reason}"`);
      expect(['token', 'origin', 'verb', 'forbidden'].map(delta)).toEqual([1, 1, 1, 2]);
      // The owner lookup is the bridge's own business: not among the commands, nor their errors.
      expect(after).not.toMatch(/ericbus_commands_total\{verb="(own|hello)"/);
    } finally {
      await up.close();
    }
  });
});

describe('the server commands', () => {
  it("up --thread: /metrics has the bridge thread's families and the server's; the thread logs JSON", async ({
    startCli,
    dir,
  }) => {
    const up = await startCli(
      [
        'up',
        '--thread',
        '--port',
        '0',
        '--metrics',
        '--log-format',
        'json',
        '--verbose',
        '--socket',
        `${dir}/bus.sock`,
      ],
      /bridge at (\S+)/,
    );
    const url = up.match![1]!;
    const ws = new WebSocket(url);
    const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ id: 1, v: 'c' }));
    expect(JSON.parse(await reply)).toEqual({ id: 1, ok: '1' });
    const scraped = await fetch(url.replace('ws:', 'http:').replace('/?', '/metrics?'));
    expect(scraped.status).toBe(200);
    const text = await scraped.text();
    // Counted in the bridge's thread, and in the main thread by the server.
    expect(sample(text, 'ericbus_connections_open', 'face="websocket"')).toBe(1);
    expect(sample(text, 'ericbus_command_duration_seconds_count', 'hop="bridge"')).toBe(1);
    expect(sample(text, 'ericbus_commands_total', 'verb="c",result="ok"')).toBe(1);
    // The server's hop times the `c` (not the bridge's hello, which opened its session).
    expect(sample(text, 'ericbus_command_duration_seconds_count', 'hop="server"')).toBeGreaterThanOrEqual(1);
    ws.close();
    /** The JSON log line of the bridge's thread that holds `text`, once it is there. */
    const logged = async (text: string) => {
      await until(() => up.stderr().includes(text), `the bridge thread to log "${text}"`);
      return JSON.parse(
        up
          .stderr()
          .split('\n')
          .find((line) => line.includes(text))!,
      ) as Record<string, string>;
    };
    const accepted = await logged('bridge: accepted a WebSocket');
    expect(accepted).toMatchObject({ level: 'info', msg: expect.stringMatching(/^bridge: accepted/) });
    expect(accepted.connection).toMatch(/^127\.0\.0\.1:\d+$/);
    // A refusal names its connection too.
    expect(await upgrade(url.replace(/token=[^&]+/, 'token=wrong'))).toBe(401);
    expect(await logged('bridge: refused a WebSocket')).toMatchObject({
      level: 'info',
      connection: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    });
    await up.close();
  });

  it('--log-format json: one JSON object per line on stderr, with verb and channel; the banner stays text', async ({
    startCli,
    dir,
  }) => {
    const socket = `${dir}/bus.sock`;
    const served = await startCli(
      ['serve', '--socket', socket, '--log-format', 'json', '--verbose', '--http-port', '0'],
      /health and metrics at (\S+)/,
    );
    expect(served.stdout()).toMatch(/^eric-bus: serving on /);
    expect((await runCli(['send', '--socket', socket, 'create-channel'])).stdout.trim()).toBe('1');
    const base = served.match![1]!;
    expect((await fetch(`${base}healthz`)).status).toBe(200);
    expect((await fetch(`${base}readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}metrics`)).text();
    expect(sample(metrics, 'ericbus_commands_total', 'verb="c",result="ok"')).toBe(1);
    await until(() => served.stderr().includes('"verb":"c"'), 'the command logged');
    const lines = served
      .stderr()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, string>);
    for (const line of lines) expect(Object.keys(line).slice(0, 3)).toEqual(['time', 'level', 'msg']);
    expect(lines.find((line) => line.verb === 'c')).toMatchObject({ level: 'info', msg: 'command c', verb: 'c' });
    await served.close();
  });

  it('--metrics-port N: health and metrics on a port of their own, no token; /readyz 503 with the server gone', async ({
    startCli,
    dir,
  }) => {
    const socket = `${dir}/bus.sock`;
    const up = await startCli(['up', '--port', '0', '--socket', socket, '--metrics-port', '0'], /metrics at (\S+)\n/);
    const base = up.match![1]!.replace(/metrics$/, '');
    expect((await runCli(['send', '--socket', socket, 'create-channel'])).stdout.trim()).toBe('1');
    const metrics = await fetch(`${base}metrics`);
    expect(metrics.status).toBe(200);
    expect(sample(await metrics.text(), 'ericbus_commands_total', 'verb="c",result="ok"')).toBe(1);
    expect((await fetch(`${base}healthz`)).status).toBe(200);
    expect((await fetch(`${base}readyz`)).status).toBe(200);
    // The bridge's own port serves no metrics without --metrics.
    const bridge = /bridge at ws:\/\/([^/]+)\/\?token=(\S+)/.exec(up.stdout())!;
    const none = await fetch(`http://${bridge[1]}/metrics?token=${bridge[2]}`);
    expect([none.status, await none.text()]).toEqual([
      404,
      'Not Found: no metrics on this port (--metrics serves them here, --metrics-port N apart)\n',
    ]);
    // The socket server gone (its socket file removed): not ready, saying why; still alive.
    rmSync(socket);
    const readyz = await fetch(`${base}readyz`);
    expect([readyz.status, await readyz.text()]).toEqual([
      503,
      'not ready: the socket server is unreachable (ENOENT)\n',
    ]);
    expect((await fetch(`${base}healthz`)).status).toBe(200);
    await up.close();
  });
});
