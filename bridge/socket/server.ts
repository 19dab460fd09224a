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
import { type ReadCommandOptions, readCommand } from './read-command.js';
import { listenPrivately } from './socket-file.js';
import { type StreamEnd, streamToSocket } from './stream-to-socket.js';

/** How long shutdown waits for connections to close by themselves. */
const SHUTDOWN_GRACE_MS = 500;

/** Options of a {@link SocketServer}. */
export interface SocketServerOptions extends ReadCommandOptions {
  /** The channels this server serves; a fresh container by default (one per server). */
  channels?: SSEChannelContainer;
  /** Where to report; quiet by default (see {@link createLogger}). */
  logger?: Logger;
  /** How many connections may wait to be accepted (default 1024; the kernel may cap it). */
  backlog?: number;
}

/** Serves eric-sse 0.6.1's Unix-socket protocol (SPEC section 4) on a socket file. */
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
  #listening = false;
  #streams = 0;
  /** The stream serving each listener, so that a newer one can take over. */
  readonly #streaming = new Map<MessageQueueListener, AbortController>();

  constructor(
    path: string,
    {
      channels = new SSEChannelContainer(),
      logger = createLogger(),
      backlog = 1024,
      ...read
    }: SocketServerOptions = {},
  ) {
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
      case 'b':
        this.channels.get(command.c).broadcast(new Message(command.t, command.p));
        return reply(ACK);
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
        const end = await this.#stream(channel, listener, socket);
        this.#logger.info(`stream of listener ${listener.id} ended: ${end}`);
        return;
      }
      case 'w': {
        const channel = this.channels.get(command.c);
        const listener = channel.addListener();
        listener.startSync();
        try {
          const end = await this.#stream(channel, listener, socket);
          this.#logger.info(`watch of channel ${channel.id} ended: ${end}`);
        } finally {
          // A watch's listener lives as long as its stream, as in the core's watch().
          if (channel.hasListener(listener)) channel.removeListener(listener.id);
        }
      }
    }
  }

  async #stream(channel: SSEChannel, listener: MessageQueueListener, socket: Socket): Promise<StreamEnd> {
    // One stream per listener: a client that re-opens `l` after losing its connection must not
    // compete with its old stream, whose departure the server may not have noticed yet (an idle
    // Unix socket tells nothing until written to), or messages could arrive out of order.
    this.#streaming.get(listener)?.abort();
    const control = new AbortController();
    this.#streaming.set(listener, control);
    this.#streams++;
    try {
      return await streamToSocket(
        channel,
        listener,
        socket,
        (error) =>
          this.#logger.error(
            `stream of listener ${listener.id}: ${error instanceof Error ? error.message : String(error)}`,
          ),
        control.signal,
      );
    } finally {
      this.#streams--;
      if (this.#streaming.get(listener) === control) this.#streaming.delete(listener);
    }
  }
}
