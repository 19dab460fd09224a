// The consumer side of the bridge benchmark, in its own thread as a browser would be in its own
// process: reads N events of a stream, directly from the Unix socket, through a bridge's WebSocket
// or its Server-Sent Events, handing each event to the consumer as one buffer (no parsing either
// way), and reports when done.
import { request } from 'node:http';
import { connect } from 'node:net';
import { parentPort } from 'node:worker_threads';
import { WebSocket } from 'ws';

/** A request from the benchmark. */
export type ReadRequest =
  | { kind: 'direct'; socketPath: string; command: object; events: number }
  | { kind: 'bridge'; url: string; command: object; events: number }
  | { kind: 'sse'; url: string; token: string; events: number }
  | { kind: 'close' };

/** Reads `events` lines from a Unix-socket stream. */
function direct(socketPath: string, command: object, events: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let seen = 0;
    let partial: Buffer | undefined;
    const onEvent = (_line: Buffer) => void seen++;
    socket.on('data', (chunk: Buffer) => {
      let start = 0;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, start)) {
        const line = chunk.subarray(start, i);
        onEvent(partial ? Buffer.concat([partial, line]) : line);
        partial = undefined;
        start = i + 1;
      }
      if (start < chunk.length)
        partial = partial ? Buffer.concat([partial, chunk.subarray(start)]) : chunk.subarray(start);
      if (seen >= events) {
        socket.destroy();
        resolve();
      }
    });
    socket.once('error', reject);
    socket.end(JSON.stringify(command));
  });
}

const sockets = new Map<string, Promise<WebSocket>>();
let nextId = 0;

function openSocket(url: string): Promise<WebSocket> {
  let socket = sockets.get(url);
  if (!socket) {
    socket = new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(ws)).once('error', reject);
    });
    sockets.set(url, socket);
  }
  return socket;
}

/** Reads `events` data frames of a stream through a bridge, then cancels it. */
async function viaBridge(url: string, command: object, events: number): Promise<void> {
  const ws = await openSocket(url);
  const id = ++nextId;
  await new Promise<void>((resolve) => {
    let seen = 0;
    const onMessage = () => {
      if (++seen < events) return;
      ws.off('message', onMessage);
      resolve();
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id, ...command }));
  });
  ws.send(JSON.stringify({ id, v: 'cancel' }));
}

/**
 * Reads `events` Server-Sent Events of a stream (each ends with a blank line, found without
 * decoding), then goes away, which closes the stream's Unix connection.
 */
function viaSse(url: string, token: string, events: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let seen = 0;
      let endsWithNewline = false;
      res.on('data', (chunk: Buffer) => {
        if (endsWithNewline && chunk[0] === 10) seen++;
        // Line ends found natively (as the direct reader finds them); a blank line ends an event.
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) {
          if (chunk[i + 1] !== 10) continue;
          seen++;
          i++;
        }
        endsWithNewline = chunk[chunk.length - 1] === 10;
        if (seen >= events) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on('error', (error) => {
      if (!req.destroyed) reject(error);
    });
    req.end();
  });
}

parentPort!.on('message', async (message: ReadRequest) => {
  if (message.kind === 'close') {
    for (const socket of sockets.values()) (await socket).close();
    parentPort!.close();
    return;
  }
  const start = performance.now();
  if (message.kind === 'direct') await direct(message.socketPath, message.command, message.events);
  else if (message.kind === 'bridge') await viaBridge(message.url, message.command, message.events);
  else await viaSse(message.url, message.token, message.events);
  parentPort!.postMessage(performance.now() - start);
});
