/**
 * Every error the HTTP face answers, against a real `eric-bus up`, with its status and exact text.
 * A request's own mistakes are named in the terms it sent (the body's fields, the path's ids, the
 * route), never the socket command's (`t`, `c`, the verb), and none of them reaches the server;
 * errors about state are the server's, as it wrote them. The WebSocket face, beside it, still
 * speaks the socket protocol.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatException, InvalidMessageFormat } from '../../../src/errors.js';
import { FrameClient } from '../helpers/bridge.js';
import { type Running, startCli } from '../helpers/cli.js';
import { httpRequest, openSse } from '../helpers/http.js';

const TOKEN = 'texts';
const auth = { Authorization: `Bearer ${TOKEN}` };
const READY = /bridge at ws:\/\/127\.0\.0\.1:(\d+)/;
/** The body limit of the bridge under test: small, so a 413 is cheap, yet above the nesting limit's bodies. */
const MAX_FRAME = 4096;

/** One request and the error it must get. */
interface Case {
  method: string;
  path: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  status: number;
  error: string;
}

/** The refusal of a body that is not JSON: the bridge passes on what `JSON.parse` says of it. */
function notJson(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return formatException(new InvalidMessageFormat(`the request body is not JSON: ${(error as Error).message}`));
  }
  throw new Error(`${text} is JSON`);
}

const EXAMPLE = '{"type": "news", "payload": 1}';

/** The mistakes a request can make on a bridge that allows every verb; `c` and `r` exist. */
function cases(c: string, r: string): Case[] {
  const b = `/channels/${c}/messages`;
  const d = `/channels/${c}/listeners/${r}/messages`;
  const body = (bodyText: string | Uint8Array, error: string): Case[] =>
    [b, d].map((path) => ({ method: 'POST', path, body: bodyText, status: 400, error }));
  return [
    // Who may ask (unchanged).
    ...[
      { headers: { Origin: 'http://evil.example' }, method: 'OPTIONS' },
      { headers: { ...auth, Origin: 'http://evil.example' }, method: 'POST' },
    ].map(({ headers, method }) => ({
      method,
      path: '/channels',
      headers,
      status: 403,
      error: "BridgeRefused('origin http://evil.example is not allowed')",
    })),
    { method: 'POST', path: '/channels', headers: {}, status: 401, error: "BridgeRefused('no token')" },
    {
      method: 'POST',
      path: '/channels',
      headers: { Authorization: 'Bearer nope' },
      status: 401,
      error: "BridgeRefused('wrong token')",
    },
    // The route (unchanged).
    {
      method: 'GET',
      path: `/channels/${c}/nothing`,
      status: 404,
      error: `NoSuchRoute('No route for /channels/${c}/nothing')`,
    },
    { method: 'PUT', path: `/channels/${c}`, status: 405, error: `MethodNotAllowed('PUT /channels/${c}: use DELETE')` },
    // The ids in the path.
    {
      method: 'POST',
      path: '/channels/%E0%A4%A/listeners',
      status: 400,
      error: `InvalidMessageFormat('the channel id "%E0%A4%A" in the path is not valid percent-encoding')`,
    },
    {
      method: 'DELETE',
      path: `/channels/${c}/listeners/%ZZ`,
      status: 400,
      error: `InvalidMessageFormat('the listener id "%ZZ" in the path is not valid percent-encoding')`,
    },
    ...[
      ['POST', '/channels//listeners'],
      ['POST', '/channels//messages'],
      ['POST', `/channels//listeners/${r}/messages`],
      ['DELETE', `/channels//listeners/${r}`],
      ['DELETE', '/channels//'],
      ['GET', `/channels//listeners/${r}/events`],
      ['GET', '/channels//events'],
    ].map(([method, path]) => ({
      method: method!,
      path: path!,
      body: '{"type": "x"}',
      status: 400,
      error: `InvalidMessageFormat('the channel id in the path is empty')`,
    })),
    ...[
      ['POST', `/channels/${c}/listeners//messages`],
      ['DELETE', `/channels/${c}/listeners//`],
      ['GET', `/channels/${c}/listeners//events`],
    ].map(([method, path]) => ({
      method: method!,
      path: path!,
      body: '{"type": "x"}',
      status: 400,
      error: `InvalidMessageFormat('the listener id in the path is empty')`,
    })),
    // The body of a message, `b` and `d` alike: the path's mistake comes first.
    {
      method: 'POST',
      path: '/channels//messages',
      body: '{"payload": 2}',
      status: 400,
      error: `InvalidMessageFormat('the channel id in the path is empty')`,
    },
    {
      method: 'POST',
      path: b,
      body: JSON.stringify({ type: 'big', payload: 'x'.repeat(MAX_FRAME) }),
      status: 413,
      error: `InvalidMessageFormat('the request body exceeds the limit of ${MAX_FRAME} bytes')`,
    },
    ...body('', `InvalidMessageFormat('the request body is empty: it must be a JSON object such as ${EXAMPLE}')`),
    ...body(
      Buffer.concat([Buffer.from('{"type": "caf'), Buffer.from([0xe9]), Buffer.from('"}')]),
      "InvalidMessageFormat('the request body is not valid UTF-8')",
    ),
    ...body(
      `{"type": "deep", "payload": ${'['.repeat(1000)}${']'.repeat(1000)}}`,
      "InvalidMessageFormat('the request body nests deeper than 1000 levels of arrays and objects')",
    ),
    ...['type=news', '{"type": "news"', '{"type": \'news\'}', ' '].flatMap((text) => body(text, notJson(text))),
    ...[
      ['[{"type": "news"}]', 'an array'],
      ['null', 'null'],
      ['2', 'a number'],
      ['"news"', 'a string'],
      ['true', 'a boolean'],
    ].flatMap(([text, kind]) =>
      body(text!, `InvalidMessageFormat('the request body must be a JSON object such as ${EXAMPLE}, not ${kind}')`),
    ),
    ...body(
      '{"type": "news", "paylod": 1}',
      `InvalidMessageFormat('unknown field "paylod" in the request body (it takes "type" and "payload")')`,
    ),
    ...body(
      '{"typ": "news"}',
      `InvalidMessageFormat('unknown field "typ" in the request body (it takes "type" and "payload")')`,
    ),
    ...body(
      '{"type": "news", "data": 1, "id": 2}',
      `InvalidMessageFormat('unknown fields "data", "id" in the request body (it takes "type" and "payload")')`,
    ),
    ...body('{"payload": 2}', `InvalidMessageFormat('missing field "type" in the request body')`),
    ...body('{}', `InvalidMessageFormat('missing field "type" in the request body')`),
    ...[
      ['7', 'a number'],
      ['null', 'null'],
      ['{"a": 1}', 'an object'],
      ['["news"]', 'an array'],
      ['false', 'a boolean'],
    ].flatMap(([type, kind]) =>
      body(
        `{"type": ${type}, "payload": 1}`,
        `InvalidMessageFormat('field "type" in the request body must be a string, not ${kind}')`,
      ),
    ),
    // About state: the server's words (unchanged). Event streams answer them too, before they
    // open: routes.test.ts asserts it with a bridge that waits long for the server's first reply.
    ...[
      ['POST', '/channels/nope/listeners'],
      ['POST', '/channels/nope/messages'],
      ['POST', `/channels/nope/listeners/${r}/messages`],
      ['DELETE', '/channels/nope'],
    ].map(([method, path]) => ({
      method: method!,
      path: path!,
      body: '{"type": "x"}',
      status: 404,
      error: "InvalidChannelException('No channel with id nope')",
    })),
    ...[
      ['POST', `/channels/${c}/listeners/nope/messages`],
      ['DELETE', `/channels/${c}/listeners/nope`],
    ].map(([method, path]) => ({
      method: method!,
      path: path!,
      body: '{"type": "x"}',
      status: 404,
      error: "InvalidListenerException('Invalid listener nope')",
    })),
  ];
}

/** Starts `eric-bus up` on a free port with `flags`; resolves with it and its HTTP base. */
async function up(flags: string[]): Promise<{ cli: Running; base: string; port: number }> {
  const cli = await startCli(['up', '--port', '0', '--token', TOKEN, ...flags], READY);
  const port = Number(cli.match![1]);
  return { cli, base: `http://127.0.0.1:${port}`, port };
}

/** Sends a request (a GET or DELETE without its body) and returns what the test compares. */
async function send(base: string, { method, path, body, headers = auth }: Omit<Case, 'status' | 'error'>) {
  const sent = method === 'POST' ? body : undefined;
  const reply = await httpRequest(method, base + path, { headers, body: sent });
  return { status: reply.status, json: reply.json };
}

describe('the HTTP face names a request’s mistakes in the request’s terms', () => {
  let bridge: Awaited<ReturnType<typeof up>>;
  let c: string;
  let r: string;

  beforeAll(async () => {
    bridge = await up(['--max-frame', String(MAX_FRAME)]);
    c = ((await send(bridge.base, { method: 'POST', path: '/channels' })).json as { id: string }).id;
    r = ((await send(bridge.base, { method: 'POST', path: `/channels/${c}/listeners` })).json as { id: string }).id;
  });
  afterAll(() => bridge.cli.close());

  it('answers each mistake with its status and its exact text; none reaches the listener', async () => {
    const all = cases(c, r);
    const got = [];
    for (const request of all)
      got.push({ request: `${request.method} ${request.path}`, ...(await send(bridge.base, request)) });
    expect(got).toEqual(
      all.map(({ method, path, status, error }) => ({ request: `${method} ${path}`, status, json: { error } })),
    );
    // A refused message would be queued before this one: the listener's first event is this one.
    expect(
      await send(bridge.base, {
        method: 'POST',
        path: `/channels/${c}/listeners/${r}/messages`,
        body: '{"type": "after"}',
      }),
    ).toEqual({ status: 202, json: { ok: 'ack' } });
    const stream = await openSse(`${bridge.base}/channels/${c}/listeners/${r}/events`, auth);
    expect((await stream.events(1)).map((event) => event.type)).toEqual(['after']);
    stream.close();
  });

  it('takes a body with a type alone, or with any JSON payload, and a byte order mark before it', async () => {
    // A listener of its own: the stream the test before closed may still be open on the server for
    // a moment, and would take these broadcasts off r's queue.
    const fresh = (
      (await send(bridge.base, { method: 'POST', path: `/channels/${c}/listeners` })).json as { id: string }
    ).id;
    for (const text of ['{"type": "a"}', '{"payload": null, "type": "b"}', '\uFEFF{"type": "c", "payload": [1]}'])
      expect(await send(bridge.base, { method: 'POST', path: `/channels/${c}/messages`, body: text }), text).toEqual({
        status: 202,
        json: { ok: 'ack' },
      });
    const stream = await openSse(`${bridge.base}/channels/${c}/listeners/${fresh}/events`, auth);
    expect((await stream.events(3)).map(({ type, data }) => [type, JSON.parse(data)])).toEqual([
      ['a', null],
      ['b', null],
      ['c', [1]],
    ]);
    stream.close();
  });

  it('its WebSocket face still answers in the socket protocol’s terms', async () => {
    const ws = await FrameClient.open(`ws://127.0.0.1:${bridge.port}/?token=${TOKEN}`);
    try {
      expect(await ws.call(1, { v: 'b', c, p: 2 })).toEqual({
        id: 1,
        error: `InvalidMessageFormat("Missing message type 't' for verb 'b'")`,
      });
      expect(await ws.call(2, { v: 'd', c, r, t: 7 })).toEqual({
        id: 2,
        error: `InvalidMessageFormat("Message type 't' must be a string, not 7")`,
      });
    } finally {
      await ws.close();
    }
  });
});

describe('the HTTP face names a route the bridge does not allow', () => {
  it('by its method and path, with the verb it would send; the WebSocket face by the verb', async () => {
    const bridge = await up(['--allow', 'l,w']);
    try {
      const refused = [
        ['POST', '/channels', 'c'],
        ['POST', '/channels/1/listeners', 'r'],
        ['POST', '/channels/1/messages', 'b'],
        ['POST', '/channels/1/listeners/2/messages', 'd'],
        ['DELETE', '/channels/1/listeners/2', 'rl'],
        ['DELETE', '/channels/1', 'rc'],
      ];
      const got = [];
      for (const [method, path] of refused)
        got.push(await send(bridge.base, { method: method!, path: path!, body: '{}' }));
      expect(got).toEqual(
        refused.map(([method, path, verb]) => ({
          status: 403,
          json: { error: `VerbNotAllowed('this bridge does not allow ${method} ${path} (verb "${verb}")')` },
        })),
      );
      const ws = await FrameClient.open(`ws://127.0.0.1:${bridge.port}/?token=${TOKEN}`);
      expect(await ws.call(1, { v: 'b', c: '1', t: 'x' })).toEqual({
        id: 1,
        error: `VerbNotAllowed("Verb 'b' is not allowed on this bridge")`,
      });
      await ws.close();
    } finally {
      await bridge.cli.close();
    }
  });
});
