/** A socket server and a bridge in front of it, started together (`eric-bus up`, `npm start`). */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogFormat } from './log.js';
import { SocketServer, type SocketServerOptions } from './socket/server.js';
import { BridgeThread } from './threads/bridge-thread.js';
import { type BridgeOptions, WebSocketBridge } from './websocket/bridge.js';

/** Options of {@link startUp}: the bridge's, plus where the socket goes. */
export interface UpOptions extends Omit<BridgeOptions, 'socketPath'> {
  /** The socket file; by default `bus.sock` in a fresh private temp dir, removed on close. */
  socketPath?: string;
  /** Options of the socket server. */
  server?: SocketServerOptions;
  /** Runs the bridge on a worker thread (another core than the server's); `logger` then gives way to `verbose`. */
  thread?: boolean;
  /** With `thread`: log the bridge's connections and refusals to stderr. */
  verbose?: boolean;
  /** With `thread`: the bridge's log lines as text (the default) or JSON. */
  logFormat?: LogFormat;
}

/** A running server + bridge pair. */
export interface Up {
  socketPath: string;
  /** The bridge's URL with its token: what a page connects to. */
  url: string;
  token: string;
  server: SocketServer;
  bridge: WebSocketBridge | BridgeThread;
  /** Closes the bridge, then the server, then removes the temp dir if one was made. */
  close(): Promise<void>;
  /**
   * Drains the bridge within `deadlineMs` (docs/bridge.md, "Draining a bridge"), then closes as
   * {@link Up.close} does; a bridge on a thread (`thread`) drains there alike.
   */
  drain(deadlineMs?: number): Promise<void>;
}

/** Starts a SocketServer and a bridge to it. */
export async function startUp(options: UpOptions = {}): Promise<Up> {
  const { socketPath: given, server: serverOptions, thread, verbose, logFormat, ...bridgeOptions } = options;
  const dir = given === undefined ? await mkdtemp(join(tmpdir(), 'eric-bus-')) : undefined;
  const socketPath = given ?? join(dir!, 'bus.sock');
  // Removed however the process ends short of SIGKILL: a second Ctrl-C while closing, say.
  const removeDirNow = () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  if (dir) process.once('exit', removeDirNow);
  const removeDir = async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    process.off('exit', removeDirNow);
  };
  const server = new SocketServer(socketPath, serverOptions);
  try {
    await server.listen();
  } catch (error) {
    await server.store.close();
    await removeDir();
    throw error;
  }
  let bridge: WebSocketBridge | BridgeThread;
  try {
    if (thread) {
      const { logger: _logger, ...threadOptions } = bridgeOptions;
      bridge = await BridgeThread.start({ ...threadOptions, socketPath, verbose: verbose ?? false, logFormat });
    } else bridge = await WebSocketBridge.start({ ...bridgeOptions, socketPath, localServer: server });
  } catch (error) {
    await server.shutdown();
    await removeDir();
    throw error;
  }
  let closing: Promise<void> | undefined;
  const closeWith = (closeBridge: () => Promise<void>) =>
    (closing ??= (async () => {
      await closeBridge();
      await server.shutdown();
      await removeDir();
    })());
  return {
    socketPath,
    url: bridge.url,
    token: bridge.token,
    server,
    bridge,
    close: () => closeWith(() => bridge.close()),
    drain: (deadlineMs) => closeWith(() => bridge.drain(deadlineMs)),
  };
}
