import { request } from 'node:http';
import { describe, expect } from 'vitest';
import { WebSocket } from 'ws';
import { until } from '../helpers/async.js';
import { FrameClient, type Stack, upgrade } from '../helpers/bridge.js';
import { it } from '../helpers/fixtures.js';
import { httpRequest } from '../helpers/http.js';

/** A plain HTTP GET: resolves with the status and the CORS header. */
function plainGet(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; cors: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url.replace(/^ws/, 'http'), { headers, method }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, cors: res.headers['access-control-allow-origin'] as string | undefined });
    });
    req.once('error', reject);
    req.end();
  });
}

/** The bridge's URL without the token. */
const bare = (stack: Stack) => `ws://127.0.0.1:${stack.bridge.port}/`;

describe('bridge security: token and origins at the upgrade', () => {
  it.override('bridgeOptions', { token: 's3cret-token' });

  it('prints a URL that carries the token, and that URL connects', async ({ stack }) => {
    const base = bare(stack);
    expect(stack.bridge.url).toBe(`${base}?token=s3cret-token`);
    expect(await upgrade(stack.bridge.url)).toBe('open');
  });

  it('accepts the token as Authorization: Bearer', async ({ stack }) => {
    const base = bare(stack);
    expect(await upgrade(base, { headers: { Authorization: 'Bearer s3cret-token' } })).toBe('open');
  });

  it('answers 401 to a missing or wrong token, and no WebSocket (nor Unix connection) is opened', async ({ stack }) => {
    const base = bare(stack);
    const channelsBefore = [...stack.backend.server.channels].length;
    expect(await upgrade(base)).toBe(401);
    expect(await upgrade(`${base}?token=wrong`)).toBe(401);
    expect(await upgrade(`${base}?token=s3cret-token-and-more`)).toBe(401);
    expect(await upgrade(base, { headers: { Authorization: 'Bearer nope' } })).toBe(401);
    expect(await upgrade(base, { headers: { Authorization: 'Basic s3cret-token' } })).toBe(401);
    expect(stack.bridge.connections).toBe(0);
    expect([...stack.backend.server.channels].length).toBe(channelsBefore);
  });

  it('a 401 names the scheme (WWW-Authenticate: Bearer), invalid_token when a token was refused; a 403 none', async ({
    stack,
  }) => {
    const base = bare(stack);
    /** The WWW-Authenticate header of a refused upgrade. */
    const challenge = (url: string, headers: Record<string, string> = {}) =>
      new Promise<unknown>((resolve, reject) => {
        const ws = new WebSocket(url, { headers });
        ws.once('unexpected-response', (_request, response) => {
          resolve(response.headers['www-authenticate']);
          ws.terminate();
        });
        ws.once('open', () => reject(new Error('the upgrade was taken')));
        ws.once('error', () => {});
      });
    const none = 'Bearer realm="eric-bus"';
    const invalid = 'Bearer realm="eric-bus", error="invalid_token"';
    expect(await challenge(base)).toBe(none);
    expect(await challenge(`${base}?token=wrong`)).toBe(invalid);
    expect(await challenge(base, { Origin: 'https://evil.example' })).toBeUndefined();
    const http = base.replace(/^ws/, 'http');
    for (const [target, expected] of [
      [http, none],
      [`${http}?token=wrong`, invalid],
      [`${http}channels`, none],
      [`${http}channels?token=wrong`, invalid],
    ] as const) {
      const reply = await httpRequest(target.endsWith('/') ? 'GET' : 'POST', target);
      expect([target, reply.status, reply.headers['www-authenticate']]).toEqual([target, 401, expected]);
    }
    const foreign = await httpRequest('POST', `${http}channels?token=s3cret-token`, {
      headers: { Origin: 'https://evil.example' },
    });
    expect([foreign.status, foreign.headers['www-authenticate']]).toEqual([403, undefined]);
  });

  it('allows localhost on any port and its own origin by default; other origins get 403, token or not', async ({
    stack,
  }) => {
    const base = bare(stack);
    for (const origin of [
      'http://localhost:5173',
      'http://127.0.0.1:8080',
      'https://localhost',
      'http://[::1]:3000',
      `http://127.0.0.1:${stack.bridge.port}`,
    ]) {
      expect(await upgrade(stack.bridge.url, { origin }), origin).toBe('open');
    }
    for (const origin of [
      'https://evil.example',
      'http://localhost.evil.example',
      'null',
      'file://',
      'http://10.0.0.1:5173',
    ]) {
      expect(await upgrade(stack.bridge.url, { origin }), origin).toBe(403);
    }
    // The origin is judged first: a foreign page cannot probe the token.
    expect(await upgrade(base, { origin: 'https://evil.example' })).toBe(403);
  });

  it('answers plain HTTP with 426 once the checks pass, otherwise 401/403, readable cross-origin', async ({
    stack,
  }) => {
    const base = bare(stack);
    expect(await plainGet(stack.bridge.url)).toEqual({ status: 426, cors: '*' });
    expect(await plainGet(base)).toEqual({ status: 401, cors: '*' });
    expect(await plainGet(stack.bridge.url, { Origin: 'https://evil.example' })).toEqual({ status: 403, cors: '*' });
    // A CORS preflight is answered, so the status of the GET can be read.
    expect(await plainGet(base, { Origin: 'https://evil.example' }, 'OPTIONS')).toEqual({ status: 204, cors: '*' });
  });
});

describe('bridge security: configured origins, heartbeat', () => {
  it('with --origin, only those origins (and its own) are allowed', async ({ startStack }) => {
    const stack = await startStack({ origins: ['https://app.example'] });
    expect(await upgrade(stack.bridge.url, { origin: 'https://app.example' })).toBe('open');
    expect(await upgrade(stack.bridge.url, { origin: `http://127.0.0.1:${stack.bridge.port}` })).toBe('open');
    expect(await upgrade(stack.bridge.url, { origin: 'http://localhost:5173' })).toBe(403);
    const open = await startStack({ origins: ['*'] });
    expect(await upgrade(open.bridge.url, { origin: 'https://anywhere.example' })).toBe('open');
  });

  it('reaps a peer that stops answering pings, closing its Unix connections; a live peer stays', async ({
    startStack,
  }) => {
    // Long enough that a busy test machine still answers in time; the dead peer misses it regardless.
    const stack = await startStack({ heartbeatMs: 250 });
    const live = await FrameClient.open(stack.bridge.url);
    const dead = await FrameClient.open(stack.bridge.url, { autoPong: false });
    const c = ((await live.call(1, { v: 'c' })) as { ok: string }).ok;
    const r = ((await live.call(2, { v: 'r', c })) as { ok: string }).ok;
    dead.send({ id: 1, v: 'l', c, r });
    await live.call(3, { v: 'd', c, r, t: 'seen' });
    expect(await dead.next(1)).toMatchObject({ data: { event: 'seen' } });
    let pings = 0;
    live.ws.on('ping', () => pings++);
    expect((await dead.closed).code).toBe(1006); // terminated by the bridge, no closing handshake
    // The reaped peer's stream is gone: the next message stays queued for the listener.
    await live.call(4, { v: 'd', c, r, t: 'kept' });
    await until(() => stack.backend.server.streams === 0, "the reaped peer's stream to end");
    expect(stack.backend.server.channels.get(c).queueLength(r)).toBe(1);
    await until(() => pings >= 3, 'three pings to the live peer');
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
    expect(stack.bridge.connections).toBe(1);
    await live.close();
  });
});

describe('bridge logging', () => {
  it('a verbose bridge logs each WebSocket it accepts and closes, and each refusal, without the token', async ({
    startStack,
  }) => {
    const lines: string[] = [];
    const stack = await startStack({
      logger: { info: (line) => lines.push(line), warn: (line) => lines.push(line), error: (line) => lines.push(line) },
    });
    const ws = await FrameClient.open(stack.bridge.url);
    ws.ws.close();
    await ws.closed;
    expect(await upgrade(stack.bridge.url.replace(/token=[^&]+/, 'token=wrong'), {})).toBe(401);
    await expect.poll(() => lines.filter((line) => /closed \(1005\)|refused/.test(line)).length).toBe(2);
    expect(lines.some((line) => /^bridge: accepted a WebSocket from 127\.0\.0\.1:\d+ \(1 open\)$/.test(line))).toBe(
      true,
    );
    expect(lines.join('\n')).not.toContain(stack.bridge.token);
  });

  it('its start-up line shows the URL with … for the token, even one the URL holds elsewhere or encodes', async ({
    startStack,
  }) => {
    for (const token of ['ws', 'two words']) {
      const lines: string[] = [];
      const stack = await startStack({ token, logger: { info: (line) => lines.push(line), warn() {}, error() {} } });
      const url = `ws://127.0.0.1:${stack.bridge.port}/?token=…`;
      expect(lines.filter((line) => line.startsWith('bridge: listening'))).toEqual([
        `bridge: listening on ${url}, forwarding to ${stack.backend.path}`,
      ]);
    }
  });
});

describe('bridge security: a token with a space in it', () => {
  it.override('bridgeOptions', { token: 'two words' });

  it('is judged as a token in Authorization: Bearer: the right one passes, another is a wrong token', async ({
    stack,
  }) => {
    const channels = `http://127.0.0.1:${stack.bridge.port}/channels`;
    const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
    expect(await upgrade(bare(stack), bearer('two words'))).toBe('open');
    expect(await httpRequest('POST', channels, bearer('two words'))).toMatchObject({ status: 201 });
    for (const wrong of ['two', 'two  words', 'one two words'])
      expect(await httpRequest('POST', channels, bearer(wrong)), wrong).toMatchObject({
        status: 401,
        json: { error: "BridgeRefused('wrong token')" },
      });
    expect(await httpRequest('POST', channels, bearer('  '))).toMatchObject({
      status: 401,
      json: { error: "BridgeRefused('no token')" },
    });
  });
});
