/**
 * Requests a client can send that are not well-formed URLs: each gets an HTTP answer, and the
 * bridge (in this process, over TLS, and in `eric-bus up` and `up --thread`) goes on serving.
 */
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack } from '../helpers/bridge.js';
import { type Running, startCli } from '../helpers/cli.js';
import { httpRequest } from '../helpers/http.js';
import { selfSignedCertificate } from '../helpers/tls.js';

/** The headers of a WebSocket upgrade. */
const UPGRADE = [
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Version: 13',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
].join('\r\n');
/** Request heads whose target `new URL` cannot parse: a bad host, a port past 65535, an empty host. */
const HEADS = [
  'GET http://[/channels HTTP/1.1',
  'GET http://x:99999/ HTTP/1.1',
  'GET http://x:99999/channels/1/events HTTP/1.1',
  'POST http://[/channels HTTP/1.1',
  'DELETE http://[/channels/1 HTTP/1.1',
  'OPTIONS http://[/channels HTTP/1.1',
  'GET http://[/ HTTP/1.1',
  `GET http://[/?token=t HTTP/1.1\r\n${UPGRADE}`,
  `GET http://x:99999/ HTTP/1.1\r\n${UPGRADE}`,
  'GET http://:0/channels HTTP/1.1\r\nAuthorization: Bearer t\r\nOrigin: http://localhost',
];

/** Sends one raw request and resolves with the response's status line (or what the connection said instead). */
function rawRequest(port: number, head: string, tls = false): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls
      ? connectTls({ port, host: '127.0.0.1', rejectUnauthorized: false })
      : connectTcp({ port, host: '127.0.0.1' });
    let text = '';
    socket.on(tls ? 'secureConnect' : 'connect', () =>
      socket.write(`${head}\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`),
    );
    socket.on('data', (chunk) => (text += chunk));
    socket.on('error', (error) => resolve(`error ${error.message}`));
    socket.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
  });
}

describe('a request target that is not a URL', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('gets 400 from the bridge in this process, which goes on serving', async () => {
    const stack = await startStack({ token: 't' });
    cleanups.push(() => stack.close());
    const statuses = [];
    for (const head of HEADS) statuses.push(await rawRequest(stack.bridge.port, head));
    expect(statuses).toEqual(HEADS.map(() => 'HTTP/1.1 400 Bad Request'));
    const created = await httpRequest('POST', `http://127.0.0.1:${stack.bridge.port}/channels`, {
      headers: { Authorization: 'Bearer t' },
    });
    expect(created.status).toBe(201);
  });

  it('gets 400 from a TLS bridge too', async () => {
    const certificate = selfSignedCertificate();
    cleanups.push(certificate.cleanup);
    const stack = await startStack({ token: 't', tls: { cert: certificate.cert, key: certificate.key } });
    cleanups.push(() => stack.close());
    const statuses = [];
    for (const head of HEADS) statuses.push(await rawRequest(stack.bridge.port, head, true));
    expect(statuses).toEqual(HEADS.map(() => 'HTTP/1.1 400 Bad Request'));
  });

  it.each([[[]], [['--thread']]])('leaves eric-bus up %j running, its channels with it', async (flags) => {
    const up: Running = await startCli(['up', '--port', '0', '--token', 't', ...flags], /bridge at ws:\/\/\S+/);
    cleanups.push(() => up.close());
    const port = Number(/bridge at ws:\/\/127\.0\.0\.1:(\d+)/.exec(up.stdout())![1]);
    const base = `http://127.0.0.1:${port}`;
    const auth = { headers: { Authorization: 'Bearer t' } };
    const created = await httpRequest('POST', `${base}/channels`, auth);
    expect(created.status).toBe(201);
    const statuses = [];
    for (const head of HEADS) statuses.push(await rawRequest(port, head));
    expect(statuses).toEqual(HEADS.map(() => 'HTTP/1.1 400 Bad Request'));
    // The same process, with the channel made before.
    const channel = (created.json as { id: string }).id;
    expect((await httpRequest('POST', `${base}/channels/${channel}/listeners`, auth)).status).toBe(201);
    expect(up.child.exitCode).toBeNull();
  });
});

describe('an oversized body', () => {
  it('gets its 413 every time from eric-bus up, never a reset under the client’s write', async () => {
    const up = await startCli(['up', '--port', '0', '--token', 't'], /bridge at ws:\/\/127\.0\.0\.1:(\d+)/);
    try {
      const port = Number(up.match![1]);
      const created = await httpRequest('POST', `http://127.0.0.1:${port}/channels`, {
        headers: { Authorization: 'Bearer t' },
      });
      const c = (created.json as { id: string }).id;
      const body = Buffer.alloc(10 * 1024 * 1024, 'x');
      const head = [
        `POST /channels/${c}/messages HTTP/1.1`,
        'Host: x',
        'Authorization: Bearer t',
        `Content-Length: ${body.length}`,
      ].join('\r\n');
      // As curl does: a write of the body that fails ends the request, whatever the reply said.
      const post = () =>
        new Promise<string>((resolve) => {
          const socket = connectTcp(port, '127.0.0.1');
          let reply = '';
          socket.on('data', (chunk) => (reply += chunk));
          socket.on('error', (error: NodeJS.ErrnoException) => resolve(String(error.code)));
          socket.on('end', () => resolve(reply.slice(9, 12)));
          socket.write(`${head}\r\n\r\n`);
          socket.write(body);
        });
      const outcomes: string[] = [];
      for (let i = 0; i < 20; i++) outcomes.push(await post());
      expect(outcomes).toEqual(Array(20).fill('413'));
    } finally {
      await up.close();
    }
  });
});
