/** The Unix-socket server of eric-sse's protocol: one JSON command per connection. */
import { unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import {
  EricBusError,
  Message,
  type MessageQueueListener,
  type SSEChannel,
  SSEChannelContainer,
} from '../../src/index.js';
import type { Command } from '../../src/wire/socket-protocol.js';
import { ACK, formatError, parseCommand } from '../../src/wire/socket-protocol.js';
import { ClientGone } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { closeOnSignal } from '../signals.js';
import { shareLine } from './fan-out.js';
import { EventHistory, listenerOfId } from './history.js';
import { type ReadCommandOptions, readCommand } from './read-command.js';
import { listenPrivately } from './socket-file.js';
import { type StreamEnd, streamToSocket } from './stream-to-socket.js';

/** How long shutdown waits for connections to close by themselves. */
const SHUTDOWN_GRACE_MS = 500;

/** Events each listener keeps for resuming its stream, by default. */
export const DEFAULT_HISTORY = 1000;
/** How long a watch's listener outlives its stream, by default (ms). */
export const DEFAULT_WATCH_GRACE_MS = 60_000;
/** The longest grace period: what a timer can wait (about 24.8 days). */
export const MAX_WATCH_GRACE_MS = 2 ** 31 - 1;

/** Options of a {@link SocketServer}. */
export interface SocketServerOptions extends ReadCommandOptions {
  /** The channels this server serves; a fresh container by default (one per server). */
  channels?: SSEChannelContainer;
  /** Where to report; quiet by default (see {@link createLogger}). */
  logger?: Logger;
  /** How many connections may wait to be accepted (default 1024; the kernel may cap it). */
  backlog?: number;
  /** Delivered events each listener keeps, so a stream resumed with `i` replays them (default 1000; 0: none). */
  history?: number;
  /** How long a watch's listener outlives its stream, waiting for a resume, in ms (default 60 000; 0: none). */
  watchGraceMs?: number;
}

/** A listener made by `w`, and the timer that removes it once its stream has been gone for the grace period. */
interface Watch {
  channel: SSEChannel;
  grace?: NodeJS.Timeout;
}

/**
 * Serves eric-sse 0.6.1's Unix-socket protocol (SPEC section 4) on a socket file, with event ids,
 * histories and resume (section 7).
 */
export class SocketServer {
  /** The channels commands act on. */
  readonly channels: SSEChannelContainer;
  /** The socket file it listens on. */
  readonly path: string;
  readonly #server: Server;
  readonly #connections = new Set<Socket>();
  readonly #logger: Logger;
  readonly #read: ReadCommandOptions;
  readonly #backlog: number;
  readonly #historyLimit: number;
  readonly #watchGraceMs: number;
  #listening = false;
  #streams = 0;
  /** The stream serving each listener, so that a newer one can take over. */
  readonly #streaming = new Map<MessageQueueListener, AbortController>();
  /** Each listener's history, made at its first stream and gone with the listener. */
  readonly #histories = new WeakMap<MessageQueueListener, EventHistory>();
  /** The listeners made by `w` that are still registered. */
  readonly #watches = new Map<MessageQueueListener, Watch>();

  constructor(
    path: string,
    {
      channels = new SSEChannelContainer(),
      logger = createLogger(),
      backlog = 1024,
      history = DEFAULT_HISTORY,
      watchGraceMs = DEFAULT_WATCH_GRACE_MS,
      ...read
    }: SocketServerOptions = {},
  ) {
    if (!Number.isSafeInteger(history) || history < 0)
      throw new RangeError(`history is a number of events (0 or more), not ${history}`);
    if (!(watchGraceMs >= 0 && watchGraceMs <= MAX_WATCH_GRACE_MS))
      throw new RangeError(`watchGraceMs is a duration in ms from 0 to ${MAX_WATCH_GRACE_MS}, not ${watchGraceMs}`);
    this.#historyLimit = history;
    this.#watchGraceMs = watchGraceMs;
    this.path = path;
    this.channels = channels;
    this.#logger = logger;
    this.#read = read;
    this.#backlog = backlog;
    // allowHalfOpen: the client half-closes after its command and still reads the reply.
    this.#server = createServer({ allowHalfOpen: true }, (socket) => this.#serve(socket));
  }

  /** How many `l`/`w` streams are open. */
  get streams(): number {
    return this.#streams;
  }

  /** Creates the server, listens, and shuts it down gracefully on SIGINT/SIGTERM/SIGHUP (as eric-sse's `start`). */
  static async start(path: string, options?: SocketServerOptions): Promise<SocketServer> {
    const server = new SocketServer(path, options);
    await server.listen();
    closeOnSignal(() => server.shutdown());
    return server;
  }

  /** Starts listening; the socket file is created mode 0600, replacing a stale one (a live server's is refused). */
  async listen(): Promise<void> {
    await listenPrivately(this.#server, this.path, this.#backlog);
    this.#listening = true;
    this.#logger.info(`serving on ${this.path}`);
  }

  /** Stops accepting, closes every open connection (streams end), and removes the socket file. */
  async shutdown(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    this.#logger.info('shutting down');
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // Streams end with a clean end of file; a client that does not let go is cut off after a grace period.
    for (const socket of this.#connections) socket.end();
    const cutOff = setTimeout(() => {
      for (const socket of this.#connections) socket.destroy();
    }, SHUTDOWN_GRACE_MS);
    await closed;
    clearTimeout(cutOff);
    // Nobody can resume a watch any more: its listener goes now rather than after the grace period.
    for (const listener of [...this.#watches.keys()]) this.#dropWatch(listener);
    await unlink(this.path).catch(() => {});
  }

  async #serve(socket: Socket): Promise<void> {
    this.#connections.add(socket);
    socket.once('close', () => this.#connections.delete(socket));
    // A client may vanish at any point; its error is not the server's.
    socket.on('error', (error) => this.#logger.info(`client error: ${error.message}`));
    try {
      const command = parseCommand(await readCommand(socket, this.#read));
      this.#logger.info(`command ${command.v}${command.v === 'c' ? '' : ` on channel ${command.c}`}`);
      await this.#run(command, socket);
    } catch (error) {
      if (error instanceof ClientGone) {
        this.#logger.info(error.message);
        return;
      }
      // A client's mistake is routine; anything else is a fault of the server.
      if (error instanceof EricBusError) this.#logger.info(formatError(error));
      else this.#logger.error(error instanceof Error ? error.message : String(error));
      if (!socket.destroyed) socket.end(formatError(error), () => socket.destroy());
    }
  }

  async #run(command: Command, socket: Socket): Promise<void> {
    const reply = (text: string): void => void socket.end(text);
    switch (command.v) {
      case 'c':
        return reply(this.channels.add().id);
      case 'r':
        return reply(this.channels.get(command.c).addListener().id);
      case 'd':
        this.channels.get(command.c).dispatch(command.r, new Message(command.t, command.p));
        return reply(ACK);
      case 'b': {
        const channel = this.channels.get(command.c);
        const msg = new Message(command.t, command.p);
        shareLine(channel, msg);
        channel.broadcast(msg);
        return reply(ACK);
      }
      case 'rl':
        this.channels.get(command.c).removeListener(command.r);
        return reply(ACK);
      case 'rc':
        this.channels.rm(command.c);
        return reply(ACK);
      case 'l': {
        const channel = this.channels.get(command.c);
        const listener = channel.getListener(command.r);
        listener.startSync();
        const end = await this.#stream(channel, listener, socket, command.i);
        this.#logger.info(`stream of listener ${listener.id} ended: ${end}`);
        return;
      }
      case 'w': {
        const channel = this.channels.get(command.c);
        // A watch that is gone (or an id that names none) gives a new watch, whose stream starts with a gap.
        const listener =
          (command.i === undefined ? undefined : this.#watchOf(channel, command.i)) ?? channel.addListener();
        this.#watches.set(listener, this.#watches.get(listener) ?? { channel });
        listener.startSync();
        const end = await this.#stream(channel, listener, socket, command.i);
        this.#logger.info(`watch of channel ${channel.id} by listener ${listener.id} ended: ${end}`);
      }
    }
  }

  async #stream(
    channel: SSEChannel,
    listener: MessageQueueListener,
    socket: Socket,
    after: string | undefined,
  ): Promise<StreamEnd> {
    // One stream per listener: a client that re-opens `l` after losing its connection must not
    // compete with its old stream, whose departure the server may not have noticed yet (an idle
    // Unix socket tells nothing until written to), or messages could arrive out of order.
    this.#streaming.get(listener)?.abort();
    const control = new AbortController();
    this.#streaming.set(listener, control);
    const watch = this.#watches.get(listener);
    clearTimeout(watch?.grace);
    this.#streams++;
    try {
      return await streamToSocket(channel, listener, socket, {
        onError: (error) =>
          this.#logger.error(
            `stream of listener ${listener.id}: ${error instanceof Error ? error.message : String(error)}`,
          ),
        signal: control.signal,
        history: this.#historyOf(listener),
        after,
      });
    } finally {
      this.#streams--;
      if (this.#streaming.get(listener) === control) {
        this.#streaming.delete(listener);
        if (watch) this.#unwatched(listener, watch);
      }
    }
  }

  #historyOf(listener: MessageQueueListener): EventHistory {
    let history = this.#histories.get(listener);
    if (!history) this.#histories.set(listener, (history = new EventHistory(listener.id, this.#historyLimit)));
    return history;
  }

  /** The watch listener of `channel` whose stream carried event `id`, if it is still there. */
  #watchOf(channel: SSEChannel, id: string): MessageQueueListener | undefined {
    const listenerId = listenerOfId(id);
    if (listenerId === undefined) return undefined;
    let listener: MessageQueueListener;
    try {
      listener = channel.getListener(listenerId);
    } catch {
      return undefined; // removed: its grace period is over, or someone removed it
    }
    return this.#watches.get(listener)?.channel === channel ? listener : undefined;
  }

  /** A watch's stream ended with none taking over: its listener waits the grace period for a resume. */
  #unwatched(listener: MessageQueueListener, watch: Watch): void {
    if (!this.#listening || this.#watchGraceMs === 0 || !watch.channel.hasListener(listener))
      return this.#dropWatch(listener);
    watch.grace = setTimeout(() => this.#dropWatch(listener), this.#watchGraceMs);
    // A watch waiting for its client does not keep the process alive.
    watch.grace.unref();
  }

  #dropWatch(listener: MessageQueueListener): void {
    const watch = this.#watches.get(listener);
    if (!watch) return;
    clearTimeout(watch.grace);
    this.#watches.delete(listener);
    if (watch.channel.hasListener(listener)) watch.channel.removeListener(listener.id);
  }
}
