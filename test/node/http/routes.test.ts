import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocketBridge } from '../../../bridge/index.js';
import { until } from '../helpers/async.js';
import { startStack } from '../helpers/bridge.js';
import { httpRequest, openSse } from '../helpers/http.js';
import { scriptedServer, tempDir } from '../helpers/socket.js';
import { selfSignedCertificate } from '../helpers/tls.js';

type Stack = Awaited<ReturnType<typeof startStack>>;

const TOKEN = 'http-token';
const auth = { Authorization: `Bearer ${TOKEN}` };

describe('HTTP face: the eight verbs as REST routes', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  /** A stack whose event streams wait long for the server's first reply, so an error always gets its status. */
  async function start(options: Parameters<typeof startStack>[0] = {}, server?: Parameters<typeof startStack>[1]) {
    stack = await startStack({ token: TOKEN, sseOpenWaitMs: 30_000, ...options }, server);
    const base = `http://127.0.0.1:${stack.bridge.port}`;
    const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      httpRequest(method, base + path, { headers: { ...auth, ...headers }, body });
    return { base, call, stack };
  }

  it('creates, registers, dispatches, broadcasts, streams, removes: statuses and bodies as in the table', async () => {
    const { base, call } = await start();
    const created = await call('POST', '/channels');
    expect(created).toMatchObject({ status: 201, json: { id: expect.stringMatching(/^\d+$/) } });
    const c = (created.json as { id: string }).id;
    expect(created.headers.location).toBe(`/channels/${c}`);
    expect(created.headers['content-type']).toBe('application/json; charset=utf-8');
    const listener = await call('POST', `/channels/${c}/listeners`);
    expect(listener).toMatchObject({ status: 201, json: { id: expect.stringMatching(/^\d+$/) } });
    const r = (listener.json as { id: string }).id;
    expect(listener.headers.location).toBe(`/channels/${c}/listeners/${r}`);
    expect(
      await call('POST', `/channels/${c}/listeners/${r}/messages`, { type: 'hello', payload: { n: 1 } }),
    ).toMatchObject({
      status: 202,
      json: { ok: 'ack' },
    });
    expect(await call('POST', `/channels/${c}/messages`, { type: 'news', payload: 'to all' })).toMatchObject({
      status: 202,
      json: { ok: 'ack' },
    });
    expect(await call('POST', `/channels/${c}/messages`, { type: 'bare' })).toMatchObject({ status: 202 });

    const stream = await openSse(`${base}/channels/${c}/listeners/${r}/events`, auth);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers['cache-control']).toBe('no-cache, no-transform');
    expect(stream.headers['x-accel-buffering']).toBe('no');
    const events = await stream.events(3);
    expect(events.map(({ type, data, retry }) => ({ type, data: JSON.parse(data), retry }))).toEqual([
      { type: 'hello', data: { n: 1 }, retry: 5 },
      { type: 'news', data: 'to all', retry: 5 },
      { type: 'bare', data: null, retry: 5 },
    ]);

    // Removing the listener ends its stream with a closed event; removing it again is a 404.
    expect(await call('DELETE', `/channels/${c}/listeners/${r}`)).toMatchObject({ status: 200, json: { ok: 'ack' } });
    await stream.ended;
    expect(stream.parser.events.at(-1)).toMatchObject({ type: '_eric_channel_closed', data: 'null' });
    expect(await call('DELETE', `/channels/${c}/listeners/${r}`)).toMatchObject({
      status: 404,
      json: { error: `InvalidListenerException('Invalid listener ${r}')` },
    });
    expect(await call('DELETE', `/channels/${c}`)).toMatchObject({ status: 200, json: { ok: 'ack' } });
    expect(await call('DELETE', `/channels/${c}`)).toMatchObject({
      status: 404,
      json: { error: `InvalidChannelException('No channel with id ${c}')` },
    });
  });

  it('watches a channel as an event stream; leaving the watch ends it on the server', async () => {
    // A watch has nothing to say until the first broadcast: its stream opens at once here. Without
    // a grace period, the watch's listener goes with its stream.
    const { base, call, stack } = await start({ sseOpenWaitMs: 0 }, { watchGraceMs: 0 });
    const c = await newChannel(call);
    const watch = await openSse(`${base}/channels/${c}/events?token=${TOKEN}`);
    await untilListeners(stack, c, 1);
    for (let n = 0; n < 5; n++) await call('POST', `/channels/${c}/messages`, { type: 'tick', payload: n });
    expect((await watch.events(5)).map((e) => JSON.parse(e.data))).toEqual([0, 1, 2, 3, 4]);
    watch.close();
    // The server notices an idle stream's client has gone at its next write to it.
    await call('POST', `/channels/${c}/messages`, { type: 'after' });
    await until(() => stack.backend.server.streams === 0, 'the watch to end on the server');
    await untilListeners(stack, c, 0);
  });

  it('decodes ids in the path and relays them as they are', async () => {
    const { call } = await start();
    expect(await call('POST', '/channels/a%20b/listeners')).toMatchObject({
      status: 404,
      json: { error: "InvalidChannelException('No channel with id a b')" },
    });
    expect(await call('POST', '/channels/%E0%A4%A/listeners')).toMatchObject({
      status: 400,
      json: { error: `InvalidMessageFormat('the channel id "%E0%A4%A" in the path is not valid percent-encoding')` },
    });
    // A trailing slash names the same route.
    expect(await call('POST', '/channels/')).toMatchObject({ status: 201, json: { id: expect.any(String) } });
  });

  it('maps errors to statuses: 400 bad bodies, 404 unknown ids and routes, 405 methods', async () => {
    // Each error's exact text, for every route: error-texts.test.ts.
    const { base, call } = await start();
    const c = await newChannel(call);
    const bad = (status: number, error: string) => ({ status, json: { error } });
    expect(await call('POST', `/channels/${c}/messages`, { payload: 1 })).toMatchObject(
      bad(400, `InvalidMessageFormat('missing field "type" in the request body')`),
    );
    expect(await call('POST', `/channels/${c}/messages`, { type: 7 })).toMatchObject(
      bad(400, `InvalidMessageFormat('field "type" in the request body must be a string, not a number')`),
    );
    expect(await call('POST', '/channels/9/messages', { type: 'x' })).toMatchObject(
      bad(404, "InvalidChannelException('No channel with id 9')"),
    );
    expect(await call('POST', `/channels/${c}/listeners/9/messages`, { type: 'x' })).toMatchObject(
      bad(404, "InvalidListenerException('Invalid listener 9')"),
    );
    // Event streams answer errors with their status too, not with a stream.
    for (const [path, error] of [
      ['/channels/9/events', "InvalidChannelException('No channel with id 9')"],
      [`/channels/${c}/listeners/9/events`, "InvalidListenerException('Invalid listener 9')"],
    ] as const) {
      const stream = await openSse(base + path, auth);
      await stream.ended;
      expect({ status: stream.status, json: JSON.parse(stream.text) }).toEqual(bad(404, error));
    }
    expect(await call('GET', `/channels/${c}/nothing`)).toMatchObject(
      bad(404, `NoSuchRoute('No route for /channels/${c}/nothing')`),
    );
    const wrong = await call('PUT', `/channels/${c}`);
    expect(wrong).toMatchObject(bad(405, `MethodNotAllowed('PUT /channels/${c}: use DELETE')`));
    expect(wrong.headers.allow).toBe('DELETE');
    expect(await call('GET', '/channels')).toMatchObject({ status: 405, headers: { allow: 'POST' } });
  });

  it('401 without the right token, by header or query; the token is never needed twice', async () => {
    const { base } = await start();
    const refused = { status: 401, json: { error: expect.stringMatching(/^BridgeRefused\('(no|wrong) token'\)$/) } };
    expect(await httpRequest('POST', `${base}/channels`)).toMatchObject(refused);
    expect(await httpRequest('POST', `${base}/channels?token=nope`)).toMatchObject(refused);
    expect(await httpRequest('POST', `${base}/channels`, { headers: { Authorization: 'Bearer nope' } })).toMatchObject(
      refused,
    );
    const stream = await openSse(`${base}/channels/1/events`);
    await stream.ended;
    expect(stream.status).toBe(401);
    expect(await httpRequest('POST', `${base}/channels?token=${TOKEN}`)).toMatchObject({ status: 201 });
    expect([...stack!.backend.server.channels].length).toBe(1);
  });

  it('403 for a verb the bridge does not allow, whatever the route', async () => {
    const { call } = await start({ allow: ['l', 'w'] });
    for (const [method, path, verb] of [
      ['POST', '/channels', 'c'],
      ['POST', '/channels/1/listeners', 'r'],
      ['POST', '/channels/1/messages', 'b'],
      ['POST', '/channels/1/listeners/1/messages', 'd'],
      ['DELETE', '/channels/1/listeners/1', 'rl'],
      ['DELETE', '/channels/1', 'rc'],
    ] as const) {
      expect(await call(method, path, { type: 'x' }), `${method} ${path}`).toMatchObject({
        status: 403,
        json: { error: `VerbNotAllowed('this bridge does not allow ${method} ${path} (verb "${verb}")')` },
      });
    }
    expect([...stack!.backend.server.channels].length).toBe(0);
  });

  it('413 for a body over --max-frame, by Content-Length or as it streams in; nothing reaches the server', async () => {
    const { base, call } = await start({ maxFrameBytes: 1024 });
    const c = await newChannel(call);
    const r = ((await call('POST', `/channels/${c}/listeners`)).json as { id: string }).id;
    const big = JSON.stringify({ type: 'big', payload: 'x'.repeat(2000) });
    expect(await call('POST', `/channels/${c}/messages`, big)).toMatchObject({
      status: 413,
      json: { error: "InvalidMessageFormat('the request body exceeds the limit of 1024 bytes')" },
    });
    // Chunked, so the size is known only by counting.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${base}/channels/${c}/messages`,
        { method: 'POST', headers: { ...auth, 'Transfer-Encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 8; i++) req.write(big.slice(i * 250, (i + 1) * 250));
      req.end();
    });
    expect(chunked).toBe(413);
    expect(await call('POST', `/channels/${c}/messages`, { type: 'small', payload: 'x'.repeat(900) })).toMatchObject({
      status: 202,
    });
    expect(stack!.backend.server.channels.get(c).queueLength(r)).toBe(1);
  });

  it('503 BackendUnavailable when no server listens behind the bridge', async () => {
    const { dir, cleanup } = tempDir();
    const bridge = await WebSocketBridge.start({ socketPath: join(dir, 'none.sock'), port: 0, token: TOKEN });
    try {
      const base = `http://127.0.0.1:${bridge.port}`;
      const created = await httpRequest('POST', `${base}/channels`, { headers: auth });
      expect(created).toMatchObject({ status: 503, json: { error: expect.stringMatching(/^BackendUnavailable\(/) } });
      const stream = await openSse(`${base}/channels/1/events`, auth);
      await stream.ended;
      expect(stream.status).toBe(503);
    } finally {
      await bridge.close();
      cleanup();
    }
  });

  it('answers a command still waiting for the server when the bridge closes: 503, not a cut connection', async () => {
    const backend = await scriptedServer(() => {}); // never replies
    const bridge = await WebSocketBridge.start({ socketPath: backend.path, port: 0, token: TOKEN });
    try {
      const pending = httpRequest('POST', `http://127.0.0.1:${bridge.port}/channels`, { headers: auth });
      await until(() => backend.commands.length === 1, 'the command to reach the server');
      await bridge.close();
      expect(await pending).toMatchObject({
        status: 503,
        json: { error: "BackendUnavailable('The bridge closed before the reply')" },
      });
    } finally {
      await bridge.close();
      await backend.close();
    }
  });

  it('leaves other paths to the WebSocket upgrade probe (426), as before', async () => {
    const { base } = await start();
    expect(await httpRequest('GET', `${base}/?token=${TOKEN}`)).toMatchObject({ status: 426 });
    expect(await httpRequest('GET', `${base}/channelsx?token=${TOKEN}`)).toMatchObject({ status: 426 });
  });
});

describe('HTTP face over TLS', () => {
  const certificate = selfSignedCertificate();
  afterAll(() => certificate.cleanup());

  it('serves the same routes and event streams over https when the bridge has a certificate', async () => {
    const stack = await startStack({ token: TOKEN, tls: { cert: certificate.cert, key: certificate.key } });
    try {
      const base = `https://127.0.0.1:${stack.bridge.port}`;
      const ca = certificate.cert;
      const post = (path: string, body?: unknown) => httpRequest('POST', base + path, { headers: auth, body, ca });
      const c = ((await post('/channels')).json as { id: string }).id;
      const r = ((await post(`/channels/${c}/listeners`)).json as { id: string }).id;
      expect(await post(`/channels/${c}/listeners/${r}/messages`, { type: 'secure', payload: 1 })).toMatchObject({
        status: 202,
      });
      const stream = await openSse(`${base}/channels/${c}/listeners/${r}/events?token=${TOKEN}`, {}, ca);
      expect(stream.status).toBe(200);
      expect(await stream.events(1)).toMatchObject([{ type: 'secure', data: '1', lastEventId: `${r}:1` }]);
      stream.close();
    } finally {
      await stack.close();
    }
  });
});

describe('HTTP face: CORS', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('echoes an allowed Origin with Vary: Origin, on successes and errors alike', async () => {
    stack = await startStack({ token: TOKEN });
    const base = `http://127.0.0.1:${stack.bridge.port}`;
    const origin = 'http://localhost:5173';
    const created = await httpRequest('POST', `${base}/channels`, { headers: { ...auth, Origin: origin } });
    expect(created.status).toBe(201);
    expect(created.headers['access-control-allow-origin']).toBe(origin);
    expect(created.headers.vary).toBe('Origin');
    expect(created.headers['access-control-expose-headers']).toBe('Location');
    // A page of an allowed origin may read why it was refused.
    const noToken = await httpRequest('POST', `${base}/channels`, { headers: { Origin: origin } });
    expect(noToken.status).toBe(401);
    expect(noToken.headers['access-control-allow-origin']).toBe(origin);
    const c = (created.json as { id: string }).id;
    const stream = await openSse(`${base}/channels/${c}/events?token=${TOKEN}`, { Origin: origin });
    expect(stream.status).toBe(200);
    expect(stream.headers['access-control-allow-origin']).toBe(origin);
    stream.close();
  });

  it('403 for any other origin, without CORS headers, before the token is looked at', async () => {
    stack = await startStack({ token: TOKEN });
    const base = `http://127.0.0.1:${stack.bridge.port}`;
    for (const headers of [{ ...auth, Origin: 'http://evil.example' }, { Origin: 'http://evil.example' }]) {
      const refused = await httpRequest('POST', `${base}/channels`, { headers });
      expect(refused).toMatchObject({
        status: 403,
        json: { error: "BridgeRefused('origin http://evil.example is not allowed')" },
      });
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect([...stack.backend.server.channels].length).toBe(0);
  });

  it('answers a preflight: methods and the headers a page sets (Authorization, Last-Event-ID…)', async () => {
    stack = await startStack({ token: TOKEN, origins: ['https://app.example'] });
    const base = `http://127.0.0.1:${stack.bridge.port}`;
    const preflight = await httpRequest('OPTIONS', `${base}/channels/1/listeners/2/events`, {
      headers: {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'authorization,last-event-id',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-methods': 'GET, POST, DELETE',
      'access-control-allow-headers': 'Authorization, Content-Type, Last-Event-ID',
      vary: 'Origin',
    });
    const foreign = await httpRequest('OPTIONS', `${base}/channels`, {
      headers: { Origin: 'http://localhost:5173', 'Access-Control-Request-Method': 'POST' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });
});

/** Creates a channel and returns its id (ids are sequential per process, so never assumed). */
async function newChannel(call: (method: string, path: string) => Promise<{ json: unknown }>): Promise<string> {
  return ((await call('POST', '/channels')).json as { id: string }).id;
}

function untilListeners(stack: Stack, channel: string, count: number): Promise<void> {
  return until(() => stack.backend.server.channels.get(channel).size === count, `${count} listener(s) on ${channel}`);
}
