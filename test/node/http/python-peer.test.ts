// The HTTP face is a pure relay: in front of eric-sse's Python server (the stdlib reproduction of
// 0.6.1 in test/node/python) every route works, with that server's replies, spacing and errors.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketBridge } from '../../../bridge/index.js';
import { pokeUntil } from '../helpers/async.js';
import { httpRequest, openSse } from '../helpers/http.js';
import { startPythonServer } from '../helpers/python.js';
import { tempDir } from '../helpers/socket.js';

const TOKEN = 'py';
const auth = { Authorization: `Bearer ${TOKEN}` };

describe('the HTTP face in front of the Python eric-sse server', () => {
  let stopServer: () => Promise<void>;
  let cleanup: () => void;
  let bridge: WebSocketBridge;
  let base: string;
  const call = (method: string, path: string, body?: unknown) =>
    httpRequest(method, base + path, { headers: auth, body });
  const idOf = (reply: { json: unknown }) => (reply.json as { id: string }).id;

  beforeAll(async () => {
    const dir = tempDir();
    cleanup = dir.cleanup;
    const socketPath = join(dir.dir, 'eric-sse.sock');
    stopServer = await startPythonServer(socketPath);
    // The Python watch registers its listener only when it gets to the command: open streams at once.
    bridge = await WebSocketBridge.start({ socketPath, port: 0, token: TOKEN, sseOpenWaitMs: 0 });
    base = `http://127.0.0.1:${bridge.port}`;
  });
  afterAll(async () => {
    await bridge.close();
    await stopServer();
    cleanup();
  });

  it('creates, registers, dispatches, broadcasts and removes, with the table statuses', async () => {
    const created = await call('POST', '/channels');
    expect(created).toMatchObject({ status: 201, json: { id: expect.stringMatching(/^\d+$/) } });
    const c = idOf(created);
    const listener = await call('POST', `/channels/${c}/listeners`);
    expect(listener).toMatchObject({ status: 201, json: { id: expect.stringMatching(/^\d+$/) } });
    const r = idOf(listener);
    expect(
      await call('POST', `/channels/${c}/listeners/${r}/messages`, { type: 'hello', payload: { n: 1 } }),
    ).toMatchObject({ status: 202, json: { ok: 'ack' } });
    expect(await call('POST', `/channels/${c}/messages`, { type: 'news' })).toMatchObject({ status: 202 });
    expect(await call('DELETE', `/channels/${c}/listeners/${r}`)).toMatchObject({ status: 200, json: { ok: 'ack' } });
    expect(await call('DELETE', `/channels/${c}`)).toMatchObject({ status: 200, json: { ok: 'ack' } });
  });

  it("relays the Python server's errors (404 for unknown ids); refuses a bad body itself (400)", async () => {
    expect(await call('POST', '/channels/999/listeners')).toMatchObject({
      status: 404,
      json: { error: "InvalidChannelException('No channel with id 999')" },
    });
    const c = idOf(await call('POST', '/channels'));
    expect(await call('POST', `/channels/${c}/listeners/999/messages`, { type: 'x' })).toMatchObject({
      status: 404,
      json: { error: "InvalidListenerException('Invalid listener 999')" },
    });
    // A body without a type is the bridge's 400, in the body's terms: it never reaches eric-sse,
    // which would echo the command it got (`{"v":"b","c":…,"p":1}`).
    expect(await call('POST', `/channels/${c}/messages`, { payload: 1 })).toMatchObject({
      status: 400,
      json: { error: `InvalidMessageFormat('missing field "type" in the request body')` },
    });
    // An error the table does not name (eric-sse's KeyError for an unknown listener) is the server's: 500.
    expect(await call('DELETE', `/channels/${c}/listeners/999`)).toMatchObject({
      status: 500,
      json: { error: "KeyError('999')" },
    });
  });

  it("a watch as Server-Sent Events: Python's spacing and escapes, no ids; Last-Event-ID ignored", async () => {
    const c = idOf(await call('POST', '/channels'));
    const watch = await openSse(`${base}/channels/${c}/events`, { ...auth, 'Last-Event-ID': '5' });
    expect(watch.status).toBe(200);
    // The watch registers its listener when the server gets to it: broadcast until it hears.
    const [event] = await pokeUntil(
      watch.events(1),
      (i) => call('POST', `/channels/${c}/messages`, { type: 'tick', payload: { i, text: 'h\u00e9llo' } }),
      'the watch to hear a broadcast',
    );
    expect(event).toMatchObject({ type: 'tick', retry: 5, lastEventId: '' });
    expect(event!.data).toMatch(/^\{"i": \d+, "text": "h\\u00e9llo"\}$/);
    expect(JSON.parse(event!.data).text).toBe('h\u00e9llo');
    expect(event!.id).toBeUndefined();
    watch.close();
  });

  it("an 'l' stream ends at once with no events (eric-sse 0.6 cannot start a listener): an empty 200", async () => {
    const c = idOf(await call('POST', '/channels'));
    const r = idOf(await call('POST', `/channels/${c}/listeners`));
    await call('POST', `/channels/${c}/listeners/${r}/messages`, { type: 'waiting' });
    const stream = await openSse(`${base}/channels/${c}/listeners/${r}/events`, auth);
    await stream.ended;
    expect(stream.status).toBe(200);
    expect(stream.text).toBe('');
  });
});
