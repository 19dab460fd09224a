/** The socket tests' parts: temp dirs, our server, raw connections. Tests get them as fixtures (./fixtures.ts). */
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore, type MemoryStoreOptions, SocketServer, type SocketServerOptions } from '../../../bridge/index.js';

/** A server's options, with those of its in-memory store (used when it is given no store) beside them. */
export type TestServerOptions = SocketServerOptions & MemoryStoreOptions;

/** A fresh temp dir; removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'eric-bus-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A SocketServer listening on `path`, and how to stop it. */
export interface Served {
  server: SocketServer;
  path: string;
  close: () => Promise<void>;
}

/** Starts a server on a socket in a temp dir of its own; `close` shuts it down and removes the dir. */
export async function startServer(options: TestServerOptions = {}): Promise<Served> {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'bus.sock');
  const { channels, history, historyBytes, watchGraceMs, maxChannels, maxListeners, ...rest } = options;
  const memory = { channels, history, historyBytes, watchGraceMs, maxChannels, maxListeners };
  const server = new SocketServer(path, { store: new MemoryStore(memory), ...rest });
  await server.listen();
  return {
    server,
    path,
    close: async () => {
      await server.shutdown();
      cleanup();
    },
  };
}

/**
 * Writes raw bytes (optionally without half-closing) and resolves with everything the server
 * replies before closing. A write error (the server hung up on an oversized command) is not a failure.
 */
export function rawExchange(path: string, bytes: string | Buffer | null, { halfClose = true } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const chunks: Buffer[] = [];
    let connected = false;
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error) => {
      if (!connected) reject(error);
    });
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.once('connect', () => {
      connected = true;
      if (bytes !== null) socket.write(bytes);
      if (halfClose) socket.end();
    });
  });
}

/** A server of the socket protocol whose replies the test writes: each command and its socket are handed over. */
export async function scriptedServer(onCommand: (command: Record<string, unknown>, socket: Socket) => void) {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'scripted.sock');
  const commands: Record<string, unknown>[] = [];
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let raw = '';
    socket.on('data', (chunk) => (raw += chunk));
    socket.on('error', () => {});
    socket.once('end', () => {
      const command = JSON.parse(raw) as Record<string, unknown>;
      commands.push(command);
      onCommand(command, socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    commands,
    /** Stops listening and cuts every connection still open (one the test never answered). */
    close: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
      cleanup();
    },
  };
}

/** Holds a TCP port on 127.0.0.1 (taken, as another program would), until `close`. */
export async function holdPort(port = 0): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
