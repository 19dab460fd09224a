// The bridge depends on nothing but the socket protocol: here the server is a few lines that
// answer the way eric-sse 0.6.1's Python SocketServer writes (json.dumps spacing, os.linesep after
// each event, repr(exception) without a newline, the reply then end of file).
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { WebSocketBridge } from '../../../bridge/index.js';
import { FrameClient } from '../helpers/bridge.js';
import { it as base } from '../helpers/fixtures.js';
import { pythonJsonDumps } from '../helpers/python.js';

function pythonLikeServer(path: string): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    let raw = '';
    socket.on('data', (chunk) => (raw += chunk));
    socket.on('end', () => {
      const command = JSON.parse(raw) as { v: string; c?: string };
      if (command.c === '9') return void socket.end("InvalidChannelException('No channel with id 9')");
      if (command.v === 'c') return void socket.end('1');
      if (command.v === 'w') {
        // One event cut across three writes, CRLF line ends (os.linesep on Windows), an event per write after.
        const parts = [
          '{"event": "cut", "re',
          'try": 5, "data": "a',
          'bc"}\r\n{"event": "whole", "retry": 5, "data": 2}\r\n',
        ];
        const next = () => {
          const part = parts.shift();
          if (part === undefined) return void socket.end();
          socket.write(part);
          setTimeout(next, 10);
        };
        return next();
      }
      if (command.v === 'l') {
        socket.write(pythonJsonDumps({ event: 'hello', retry: 5, data: { n: 1, s: 'a,"b"' } }) + '\n');
        socket.write(pythonJsonDumps({ event: 'bye', retry: 5, data: null }) + '\n');
        return void socket.end();
      }
      socket.end('ack');
    });
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

/** A bridge in front of that server. */
const it = base.extend('bridge', async ({ dir }, { onCleanup }) => {
  const path = join(dir, 'py.sock');
  const server = await pythonLikeServer(path);
  const bridge = await WebSocketBridge.start({ socketPath: path, port: 0 });
  onCleanup(async () => {
    await bridge.close();
    await new Promise((resolve) => server.close(resolve));
  });
  return bridge;
});

describe('bridge against another server of the protocol', () => {
  it('relays replies, Python-formatted event lines and repr() errors in the envelope', async ({ bridge }) => {
    const ws = await FrameClient.open(bridge.url);
    expect(await ws.call(1, { v: 'c' })).toEqual({ id: 1, ok: '1' });
    expect(await ws.call(2, { v: 'b', c: '1', t: 'x' })).toEqual({ id: 2, ok: 'ack' });
    expect(await ws.call(3, { v: 'r', c: '9' })).toEqual({
      id: 3,
      error: "InvalidChannelException('No channel with id 9')",
    });
    ws.send({ id: 4, v: 'l', c: '1', r: '1' });
    expect(await ws.until(4)).toEqual([
      { id: 4, data: { event: 'hello', retry: 5, data: { n: 1, s: 'a,"b"' } } },
      { id: 4, data: { event: 'bye', retry: 5, data: null } },
      { id: 4, end: true },
    ]);
    ws.send({ id: 'w', v: 'w', c: '1' });
    expect(await ws.until('w')).toEqual([
      { id: 'w', data: { event: 'cut', retry: 5, data: 'abc' } },
      { id: 'w', data: { event: 'whole', retry: 5, data: 2 } },
      { id: 'w', end: true },
    ]);
    ws.send({ id: 5, v: 'l', c: '9', r: '1' });
    expect(await ws.until(5)).toEqual([{ id: 5, error: "InvalidChannelException('No channel with id 9')" }]);
    await ws.close();
  });
});
