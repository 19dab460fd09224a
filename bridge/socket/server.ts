/**
 * The Unix-socket server of eric-sse's protocol: one JSON command per connection, or, as an
 * eric-bus extension, a session of many (docs/protocol.md, "Sessions").
 */
import { readFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import {
  EricBusError,
  InvalidMessageFormat,
  LimitExceeded,
  Message,
  type SSEChannelContainer,
} from '../../src/index.js';
import type { HelloReply, ListenCommand, ServerCommand, WatchCommand } from '../../src/wire/socket-protocol.js';
import { ACK, formatError, HELLO_VERB, OWNER_VERB, parseCommand } from '../../src/wire/socket-protocol.js';
import { ClientGone } from '../errors.js';
import { createLogger, fields, type ServerLogger } from '../log.js';
import { metrics } from '../metrics/metrics.js';
import { closeOnSignal } from '../signals.js';
import { MemoryStore } from '../store/memory.js';
import type { ChannelStore, EventFeed, StreamEnd } from '../store/store.js';
import { packageVersion } from '../version.js';
import { inProcessPair } from './in-process.js';
import { probeClient } from './probe.js';
import { DEFAULT_MAX_COMMAND_BYTES, type Opening, type ReadCommandOptions, readCommand } from './read-command.js';
import { ServerSession, type SessionHost, type SessionLimits } from './session.js';
import { listenPrivately } from './socket-file.js';
import { feedToSocket } from './stream-to-socket.js';

/** How long shutdown waits for connections to close by themselves. */
const SHUTDOWN_GRACE_MS = 500;
/** How many `rs` keys that named no open stream yet are remembered, for a stream whose command comes after. */
const EARLY_CANCELS = 1024;
/**
 * How many open streams a listener refusal probes at most (a zero-byte write each, oldest probed
 * first): enough to find the clients that vanished, bounded so that a refused command costs little.
 */
const PROBE_BATCH = 1024;
const TOO_MANY_PENDING = 'Too many connections waiting to send a command: this one waited longest';

/** Connections waiting to send their command at most, where the descriptor limit cannot be read (not Linux). */
const FALLBACK_MAX_PENDING = 512;

/**
 * The default {@link SocketServerOptions.maxPendingConnections}: half the process's limit on open
 * files (the soft `Max open files` of /proc/self/limits on Linux), so that connections which say
 * nothing can take at most half the descriptors and working clients keep the rest; 512 where the
 * limit cannot be read or is unlimited.
 */
export function defaultMaxPendingConnections(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s+/)[3]);
    if (Number.isSafeInteger(soft) && soft > 0) return Math.max(1, Math.floor(soft / 2));
  } catch {
    // Not Linux: no /proc.
  }
  return FALLBACK_MAX_PENDING;
}

/** Options of a {@link SocketServer}. */
export interface SocketServerOptions extends ReadCommandOptions {
  /**
   * Where channels live: a fresh {@link MemoryStore} by default (its options: history, limits…),
   * or e.g. a {@link RedisStore} shared by several servers. The server closes its store when it
   * shuts down.
   */
  store?: ChannelStore;
  /** Where to report; quiet by default (see {@link createLogger}). */
  logger?: ServerLogger;
  /** How many connections may wait to be accepted (default 1024; the kernel may cap it). */
  backlog?: number;
  /**
   * Accepted connections that have not sent a whole command yet, at most; a new one past it closes
   * the oldest of them (which gets a `LimitExceeded` reply if it reads). Each holds a file
   * descriptor until its command is in or the deadline (`idleTimeoutMs`) passes, so without a cap
   * a flood of connections that say nothing takes every descriptor and working clients fail
   * (EPIPE, ECONNRESET) until the deadline reaps them.
   * @default half the process's open-file limit on Linux, else 512
   */
  maxPendingConnections?: number;
  /**
   * How long a session with nothing in flight stays open, in ms (docs/protocol.md, "Sessions"):
   * its clients keep it between commands and open another when it closes.
   * @default 120000
   */
  sessionIdleMs?: number;
}

/** What an eric-bus server offers, as `hello` lists it. */
const FEATURES = ['ids', 'rs', 'session', 'n', 'own'];
/** How long an idle session stays open by default (ms): at least the 60 s clients may count on. */
export const DEFAULT_SESSION_IDLE_MS = 120_000;

/**
 * Serves eric-sse 0.6.1's Unix-socket protocol (docs/protocol.md, "The socket protocol") on a
 * socket file, with event ids, histories and resume
 * (docs/protocol.md, "Event ids, histories and resume"), on channels in memory or in a shared
 * store (docs/protocol.md, "Channels in Redis").
 */
export class SocketServer {
  /** Where the channels that commands act on live. */
  readonly store: ChannelStore;
  /** The socket file it listens on. */
  readonly path: string;
  readonly #server: Server;
  readonly #connections = new Set<Socket>();
  readonly #logger: ServerLogger;
  readonly #read: ReadCommandOptions;
  readonly #backlog: number;
  readonly #maxPending: number;
  /** Connections whose command is not in yet, oldest first. */
  readonly #pending = new Set<Socket>();
  #listening = false;
  #streams = 0;
  /** Open streams by the key their command carried (`s`), for `rs`. */
  readonly #keyed = new Map<string, AbortController>();
  /** Keys an `rs` named before their stream began (oldest first, bounded). */
  readonly #earlyCancels = new Set<string>();
  /** The sockets of open streams, least recently probed first. */
  readonly #streamSockets = new Set<Socket>();
  /** The probe under way, which concurrent refusals share. */
  #probing: Promise<void> | null = null;
  readonly #sessionHost: SessionHost;
  readonly #sessions = new Set<ServerSession>();
  readonly #sessionLimits: SessionLimits;
  #unmeter: (() => void) | undefined;

  constructor(
    path: string,
    {
      store = new MemoryStore(),
      logger = createLogger(),
      backlog = 1024,
      maxPendingConnections = defaultMaxPendingConnections(),
      sessionIdleMs = DEFAULT_SESSION_IDLE_MS,
      ...read
    }: SocketServerOptions = {},
  ) {
    this.path = path;
    this.store = store;
    this.#logger = logger;
    this.#read = read;
    this.#sessionLimits = { maxBytes: read.maxBytes ?? DEFAULT_MAX_COMMAND_BYTES, idleMs: sessionIdleMs };
    this.#sessionHost = {
      execute: (command) => {
        if (command.v === 'l' || command.v === 'w')
          return Promise.reject(new InvalidMessageFormat('Streams are opened with their own frame'));
        this.#logCommand(command, 'session ');
        return this.#execute(command);
      },
      open: (command) => {
        this.#logCommand(command, 'session ');
        return this.#open(command);
      },
      ended: (feed, end) => this.#ended(feed, end),
      logger,
    };
    this.#backlog = backlog;
    if (!Number.isSafeInteger(maxPendingConnections) || maxPendingConnections < 1)
      throw new RangeError(
        `maxPendingConnections is a number of connections (1 or more), not ${maxPendingConnections}`,
      );
    this.#maxPending = maxPendingConnections;
    // allowHalfOpen: the client half-closes after its command and still reads the reply.
    this.#server = createServer({ allowHalfOpen: true }, (socket) => this.#serve(socket));
    // An accept that fails (EMFILE: out of file descriptors) is the server's trouble, not a reason to die;
    // the client it could not accept sees its connection closed.
    this.#server.on('error', (error) => {
      if (this.#listening) this.#logger.error(`accept failed: ${error.message}`);
    });
  }

  /** The in-memory channels commands act on; throws for a server on another store (they are not in this process). */
  get channels(): SSEChannelContainer {
    if (this.store instanceof MemoryStore) return this.store.channels;
    throw new Error('This server keeps its channels in another store, not in memory');
  }

  /** How many `l`/`w` streams are open: on connections of their own, and in sessions. */
  get streams(): number {
    let open = this.#streams;
    for (const session of this.#sessions) open += session.streams;
    return open;
  }

  /** Creates the server, listens, and shuts it down gracefully on SIGINT/SIGTERM/SIGHUP (as eric-sse's `start`). */
  static async start(path: string, options?: SocketServerOptions): Promise<SocketServer> {
    const server = new SocketServer(path, options);
    try {
      await server.listen();
    } catch (error) {
      await server.store.close();
      throw error;
    }
    closeOnSignal(() => server.shutdown());
    return server;
  }

  /**
   * A connection to this server from within the process, served as a Unix connection is (one
   * command, or a session) without going through the kernel: `startUp`'s bridge reaches its server
   * this way.
   */
  connectInProcess(): Socket {
    const [client, server] = inProcessPair();
    void this.#serve(server);
    return client;
  }

  /** Starts listening; the socket file is created mode 0600, replacing a stale one (a live server's is refused). */
  async listen(): Promise<void> {
    await listenPrivately(this.#server, this.path, this.#backlog);
    this.#listening = true;
    this.#unmeter = metrics?.addSource(() => ({
      connections: { unix: this.#connections.size - this.#sessions.size, session: this.#sessions.size },
      streams: { unix: this.#streams, session: this.streams - this.#streams },
      waiting: () => this.store.waiting?.(),
    }));
    this.#logger.info(`serving on ${this.path}`);
  }

  /** Stops accepting, closes every open connection (streams end), and removes the socket file. */
  async shutdown(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    this.#unmeter?.();
    this.#logger.info('shutting down');
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // Streams end with a clean end of file; a client that does not let go is cut off after a grace period.
    for (const socket of this.#connections) socket.end();
    const cutOff = setTimeout(() => {
      for (const socket of this.#connections) socket.destroy();
    }, SHUTDOWN_GRACE_MS);
    await closed;
    clearTimeout(cutOff);
    await this.store.close();
    await unlink(this.path).catch(() => {});
  }

  async #serve(socket: Socket): Promise<void> {
    this.#connections.add(socket);
    socket.once('close', () => this.#connections.delete(socket));
    // A client may vanish at any point; its error is not the server's.
    socket.on('error', (error) => this.#logger.info(`client error: ${error.message}`));
    // Room for this one among the connections still sending: the one waiting longest gives way.
    for (const oldest of this.#pending) {
      if (this.#pending.size < this.#maxPending) break;
      this.#pending.delete(oldest);
      this.#logger.info('connection closed: too many connections waiting to send a command');
      if (!oldest.destroyed) oldest.end(formatError(new LimitExceeded(TOO_MANY_PENDING)));
      oldest.destroy();
    }
    this.#pending.add(socket);
    try {
      let opening: Opening;
      try {
        opening = await readCommand(socket, this.#read);
      } finally {
        this.#pending.delete(socket);
      }
      if (opening.kind === 'session') return this.#session(socket, opening.rest);
      const command = parseCommand(opening.text);
      this.#logCommand(command);
      await this.#run(command, socket);
    } catch (error) {
      if (error instanceof ClientGone) {
        this.#logger.info(error.message);
        return;
      }
      // A client's mistake is routine; anything else is a fault of the server.
      if (error instanceof EricBusError) this.#logger.info(formatError(error));
      else this.#logger.error(error instanceof Error ? error.message : String(error));
      // Closed once the reply is out; a socket still dropping the rest of a command too large (not
      // paused, see readCommand) closes when the client has sent it all, so the reply is not lost to a reset.
      if (!socket.destroyed)
        socket.end(formatError(error), () => {
          if (socket.isPaused() || socket.readableEnded) socket.destroy();
        });
    }
  }

  /** One line per command for a verbose server, whether it came alone or in a session (`session command …`). */
  #logCommand(command: ServerCommand, where = ''): void {
    const channel = 'c' in command ? command.c : undefined;
    const on = channel === undefined ? '' : ` on channel ${channel}`;
    this.#logger.info(`${where}command ${command.v}${on}`, fields({ verb: command.v, channel }));
  }

  /** A one-shot command: its reply, or its stream, then the connection closes. */
  async #run(command: ServerCommand, socket: Socket): Promise<void> {
    if (command.v !== 'l' && command.v !== 'w') return void socket.end(await this.#execute(command));
    if (this.#cancelledEarly(command.s, socket)) return;
    const feed = await this.#open(command);
    this.#ended(feed, await this.#stream(feed, socket, command));
  }

  /**
   * Runs a verb that replies once: its reply text; counted and timed while metrics are on, but for
   * `hello` and `own` (a client's probe, /readyz's, the bridge's owner lookup: not the users' traffic,
   * and an owner asked of a channel that is gone is no fault).
   */
  #execute(command: Exclude<ServerCommand, ListenCommand | WatchCommand>): Promise<string> {
    const meter = metrics;
    if (meter === undefined || command.v === HELLO_VERB || command.v === OWNER_VERB) return this.#executeVerb(command);
    const since = performance.now();
    return this.#executeVerb(command).then(
      (reply) => {
        meter.latency('server', since);
        meter.command(command.v, 'ok');
        return reply;
      },
      (error: unknown) => {
        meter.latency('server', since);
        meter.command(command.v, 'error');
        throw error;
      },
    );
  }

  async #executeVerb(command: Exclude<ServerCommand, ListenCommand | WatchCommand>): Promise<string> {
    const store = this.store;
    switch (command.v) {
      case 'c':
        return await store.createChannel(command.o);
      case 'own':
        // As JSON (`"alice"`, or `null`): an empty reply would read as a server gone without one.
        return JSON.stringify((await store.ownerOf(command.c)) || null);
      case 'r':
        return await this.#withRoom(() => store.addListener(command.c));
      case 'd':
        await store.dispatch(command.c, command.r, new Message(command.t, command.p));
        return ACK;
      case 'b':
        await store.broadcast(command.c, new Message(command.t, command.p));
        return ACK;
      case 'rl':
        await store.removeListener(command.c, command.r);
        return ACK;
      case 'rc':
        await store.removeChannel(command.c);
        return ACK;
      case 'rs':
        for (const key of command.s) this.#cancel(key);
        return ACK;
      case 'hello':
        return JSON.stringify(this.#hello());
    }
  }

  /** Opens the feed of an `l` or a `w`. */
  async #open(command: ListenCommand | WatchCommand): Promise<EventFeed> {
    const options = command.i === undefined ? {} : { lastEventId: command.i };
    if (metrics === undefined) return this.#openFeed(command, options);
    if (command.i !== undefined) metrics.resumed();
    try {
      const feed = await this.#openFeed(command, options);
      metrics?.command(command.v, 'ok');
      return feed;
    } catch (error) {
      metrics?.command(command.v, 'error');
      throw error;
    }
  }

  async #openFeed(command: ListenCommand | WatchCommand, options: { lastEventId?: string }): Promise<EventFeed> {
    if (command.v === 'l') return await this.store.listen(command.c, command.r, options);
    return await this.#withRoom(() => this.store.watch(command.c, options));
  }

  #ended(feed: EventFeed, end: StreamEnd): void {
    this.#logger.info(`stream of listener ${feed.listenerId} ended: ${end}`);
  }

  /** What this server offers (docs/protocol.md, "Sessions"). */
  #hello(): HelloReply {
    return {
      server: 'eric-bus',
      version: packageVersion(),
      features: FEATURES,
      store: this.store.status?.() ?? { kind: 'custom', ok: true },
    };
  }

  /** A session: frames on one connection until either side closes it. */
  async #session(socket: Socket, rest: Buffer): Promise<void> {
    this.#logger.info('session opened');
    const session = new ServerSession(socket, this.#sessionHost, this.#sessionLimits, rest);
    this.#streamSockets.add(socket);
    this.#sessions.add(session);
    session.start();
    await session.closed;
    this.#sessions.delete(session);
    this.#streamSockets.delete(socket);
    this.#logger.info('session closed');
  }

  /**
   * Runs a command that adds a listener; refused at the listener limit, it first probes the open
   * streams for clients that vanished without an `rs` (the server cannot see them go until it
   * writes), whose streams then end, their watches entering their grace period, where the store
   * lets them give way; then it tries once more.
   */
  async #withRoom<T>(add: () => T | Promise<T>): Promise<T> {
    try {
      return await add();
    } catch (error) {
      if (!(error instanceof LimitExceeded) || this.#streamSockets.size === 0) throw error;
      await this.#probeStreams();
      return await add();
    }
  }

  /** Probes up to {@link PROBE_BATCH} open streams, those probed longest ago first; resolves once each has answered. */
  #probeStreams(): Promise<void> {
    if (this.#probing) return this.#probing;
    const batch: Socket[] = [];
    for (const socket of this.#streamSockets) {
      if (batch.length === PROBE_BATCH) break;
      batch.push(socket);
    }
    for (const socket of batch) {
      this.#streamSockets.delete(socket);
      this.#streamSockets.add(socket);
    }
    this.#probing = Promise.all(batch.map(probeClient)).then((gone) => {
      this.#probing = null;
      const count = gone.filter(Boolean).length;
      if (count > 0) this.#logger.info(`probed ${batch.length} streams at the listener limit: ${count} clients gone`);
    });
    return this.#probing;
  }

  /** Ends the stream whose command carried `key`; one not begun yet is ended as it begins. */
  #cancel(key: string): void {
    const control = this.#keyed.get(key);
    if (control) return control.abort();
    this.#earlyCancels.add(key);
    if (this.#earlyCancels.size > EARLY_CANCELS) this.#earlyCancels.delete(this.#earlyCancels.values().next().value!);
  }

  /** True (and the connection closed) when an `rs` already named this stream's key: its client has gone. */
  #cancelledEarly(key: string | undefined, socket: Socket): boolean {
    if (key === undefined || !this.#earlyCancels.delete(key)) return false;
    socket.destroy();
    return true;
  }

  /** Pumps `feed` into `socket` as the command says: until its `n` events, endable by an `rs` naming its `s`. */
  async #stream(
    feed: EventFeed,
    socket: Socket,
    { s: key, n: limit }: ListenCommand | WatchCommand,
  ): Promise<StreamEnd> {
    this.#streams++;
    this.#streamSockets.add(socket);
    const cancel = key === undefined ? undefined : new AbortController();
    if (cancel) this.#keyed.set(key!, cancel);
    try {
      return await feedToSocket(feed, socket, {
        onError: (error) =>
          this.#logger.error(
            `stream of listener ${feed.listenerId}: ${error instanceof Error ? error.message : String(error)}`,
          ),
        cancel: cancel?.signal,
        limit,
      });
    } finally {
      this.#streams--;
      this.#streamSockets.delete(socket);
      if (cancel && this.#keyed.get(key!) === cancel) this.#keyed.delete(key!);
    }
  }
}
