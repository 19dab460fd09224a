/** Connections to a socket server: one per command (connect, write the command, half-close), or a session's. */
import { connect, type Socket } from 'node:net';
import { backoffDelay } from '../../src/remote/backoff.js';

/**
 * A server whose accept queue is full refuses with EAGAIN (a burst of clients; eric-sse's Python
 * server listens with a backlog of 100): retried with exponential backoff and full jitter, so a
 * burst spreads out instead of colliding again, for about 10 s: a busy machine accepts slowly, and
 * giving up sooner failed bursts that would have been served.
 */
const EAGAIN_RETRY = { initialDelayMs: 2, maxDelayMs: 250, jitter: 1, maxAttempts: 60 };

/**
 * Where a server is: its socket file, or, for a server in this process, what opens a connection to
 * it (`SocketServer.connectInProcess`).
 */
export type Target = string | (() => Socket);

/**
 * Connects to `path`, retrying while the server's accept queue is full (EAGAIN); resolves with the
 * socket once connected. `connected` runs at the connection, before anything else can happen to
 * the socket: it must add the caller's `error` listener there, since a first write can fail at
 * once (EPIPE: a server at its file descriptor limit, or dying) and an error nobody listens to
 * would end the process.
 */
export async function connectTo(target: Target, connected: (socket: Socket) => void): Promise<Socket> {
  if (typeof target === 'function') {
    const socket = target();
    connected(socket);
    return socket;
  }
  const path = target;
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = connect(path);
        socket.once('error', reject);
        socket.once('connect', () => {
          socket.off('error', reject);
          connected(socket);
          resolve(socket);
        });
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || attempt + 1 >= EAGAIN_RETRY.maxAttempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, EAGAIN_RETRY)));
    }
  }
}

/**
 * Connects to `path`, writes `command` and half-closes, as eric-sse's client does; resolves with the
 * socket, to read the reply from. `attach` runs once connected, before the write (see
 * {@link connectTo}: it adds the caller's `error` listener). A socket `attach` destroys is not
 * written to.
 */
export function openCommand(target: Target, command: string, attach: (socket: Socket) => void): Promise<Socket> {
  return connectTo(target, (socket) => {
    attach(socket);
    if (!socket.destroyed) socket.end(command);
  });
}

/**
 * Sends `command` on a connection of its own (see {@link openCommand}) and resolves with the whole
 * reply, read until the server closes ('' when it said nothing); rejects when no connection could
 * be made. `connected` gets the socket, to give up on it (destroy) when the caller waits no longer.
 */
export function oneShotReply(target: Target, command: string, connected?: (socket: Socket) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    openCommand(target, command, (socket) => {
      connected?.(socket);
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      // The close that follows an error settles it.
      socket.on('error', () => {});
      socket.once('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    }).catch(reject);
  });
}

/** True for the codes of a socket file with no server behind it: none there, or nobody accepting. */
export function isNoServer(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

/**
 * A failure to connect as the clients report it: a missing server named plainly, its code kept;
 * anything else as it is.
 */
export function connectFailure(path: string, error: unknown): unknown {
  if (!isNoServer(error)) return error;
  const { code } = error as NodeJS.ErrnoException;
  return Object.assign(new Error(`No server listening on ${path} (${code})`), { code });
}
