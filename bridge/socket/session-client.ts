/**
 * The client's end of sessions (docs/protocol.md, "Sessions"): many commands and streams on one
 * Unix connection to an eric-bus server, under ids the client picks, replies routed back by id.
 * A server is asked once what it offers (`hello`, a one-shot command); one that offers no
 * sessions (eric-sse's) is left to the caller, which sends each command on a connection of its own
 * as before. Serves `SocketClient`, and any relay that sends commands it did not make (the frame
 * carries only the protocol's keys, and the server judges them).
 */
import type { Socket } from 'node:net';
import {
  ClientClosed,
  ConnectionLost,
  errorFromFrame,
  InvalidMessageFormat,
  LimitExceeded,
  parseException,
} from '../../src/errors.js';
import { log } from '../../src/log.js';
import {
  CANCEL_VERB,
  CREDIT_VERB,
  commandKeysOf,
  frameText,
  parseReplyFrame,
  readDataFrame,
} from '../../src/wire/bridge-frames.js';
import { HELLO_VERB, isStreamingVerb, isVerb, SESSION_OPENING } from '../../src/wire/socket-protocol.js';
import { connectFailure, connectTo, oneShotReply, type Target } from './connect.js';
import { LineSplitter } from './lines.js';

/**
 * How long the client keeps a session with nothing in flight, in ms, by default: well under the 60 s
 * an eric-bus server keeps one at least, so the client closes it first and a command never crosses
 * the server's own idle close (which would lose it, run or not, with {@link ConnectionLost}).
 */
export const DEFAULT_CLIENT_SESSION_IDLE_MS = 30_000;

/** The most text one write to the session carries; what is queued beyond it goes in the next writes. */
const WRITE_BATCH_CHARS = 1 << 20;

/** How a refused line's error frame (id null) names the limit it went past. */
const LINE_LIMIT = /exceeds the limit of (\d+) bytes/;

/** Options of a {@link SessionClient}. */
export interface SessionClientOptions {
  /** How long a session with nothing in flight stays open on the client's side, in ms (default 30 s). */
  idleMs?: number;
  /** Opens a connection to a server in this process (`SocketServer.connectInProcess`) instead of `path`'s. */
  connect?: () => Socket;
}

/** Where a session stream's outcome goes. After `end` or `error`, nothing more comes. */
export interface SessionStreamHandlers {
  /** One event: its stream line as the server wrote it (a JSON object, without the newline). */
  event(line: string): void;
  /**
   * The stream ended: the server ended it, or closed the session in order (shutting down), or the
   * client was closed.
   */
  end(): void;
  /**
   * The stream failed: the server's error reply (typed, e.g. `InvalidListenerException`), or the
   * session lost ({@link ConnectionLost}), or no server to connect to (an error with its `code`,
   * ENOENT or ECONNREFUSED).
   */
  error(error: Error): void;
}

/** The client's hold on a session stream. */
export interface SessionStream {
  /** Lets the server send `credit` more events (a credit frame). */
  grant(credit: number): void;
  /** Stops the stream (a cancel frame: the server ends it as `rs` does); no handler is called after. */
  cancel(): void;
}

/** Many commands and streams in flight on one connection. */
export interface Session {
  /**
   * Sends a command that replies once (`c r d b rl rc`); resolves with the plain reply (`ack`, an
   * id). Rejects with the typed error the server replied, {@link ConnectionLost} when the session
   * closed first (the message says whether the command was sent: one that was may have run; it is
   * never sent again by itself), {@link ClientClosed} after `close()`, or, with no server to
   * connect to, an error with its `code` (ENOENT, ECONNREFUSED).
   */
  request(command: object): Promise<string>;
  /**
   * Opens a stream (`l`, `w`) whose window is `window` events: the server sends no more than that
   * until {@link SessionStream.grant} allows more.
   */
  stream(command: object, window: number, handlers: SessionStreamHandlers): SessionStream;
}

/**
 * How a command travels in a session: `request` (one reply), `stream` (`l`, `w`), or undefined when
 * it is not the command of a session frame (not a JSON object with one of the protocol's verbs:
 * `hello`, `rs`, anything else), which then goes on a connection of its own.
 */
export function sessionRoute(command: unknown): 'request' | 'stream' | undefined {
  if (typeof command !== 'object' || command === null || Array.isArray(command)) return undefined;
  const verb = (command as { v?: unknown }).v;
  if (!isVerb(verb)) return undefined;
  return isStreamingVerb(verb) ? 'stream' : 'request';
}

const NO_STREAM: SessionStream = { grant() {}, cancel() {} };

/** What a closed client hands out: every command fails with {@link ClientClosed}. */
const closedSession: Session = {
  request: () => Promise.reject(new ClientClosed('Client closed')),
  stream(_command, _window, handlers) {
    queueMicrotask(() => handlers.error(new ClientClosed('Client closed')));
    return NO_STREAM;
  },
};

/**
 * One socket server's sessions, seen from a client: {@link withSession} hands each command the
 * session to go on, or undefined when the server offers none.
 *
 * - The server is asked `hello` (one-shot) before a session is opened; a reply that is not an
 *   eric-bus hello offering `session` (eric-sse's `InvalidMessageFormat(…)`, an older server's)
 *   means one connection per command, remembered until the server is lost ({@link serverLost}).
 *   No reply (no server, a busy one) decides nothing: that command goes on its own connection,
 *   and the next one asks again. Nothing is decided by a timeout.
 * - One session at a time carries every command, many in flight; when it closes (the server
 *   closed it, it dropped, or it stayed idle {@link SessionClientOptions.idleMs}), the next
 *   command asks `hello` again and opens a new one. Commands in flight when it closes fail with
 *   {@link ConnectionLost}: they may have run, so none is sent again.
 * - The session's socket holds the process open only while something is in flight.
 */
export class SessionClient {
  /** The server's socket file. */
  readonly path: string;
  readonly #idleMs: number;
  #connection: SessionConnection | undefined;
  /** The server said it offers no sessions: commands go on connections of their own until it is lost. */
  #oneShot = false;
  #probing = false;
  #draining = false;
  /** Commands waiting for the server's answer to `hello`, in the order they came. */
  #waiting: ((session: Session | undefined) => void)[] = [];
  #closed = false;
  #closing: Promise<void> = Promise.resolve();
  #ended = 0;

  constructor(path: string, { idleMs = DEFAULT_CLIENT_SESSION_IDLE_MS, connect }: SessionClientOptions = {}) {
    if (!(Number.isFinite(idleMs) && idleMs >= 0))
      throw new RangeError(`idleMs is a number of milliseconds, 0 or more, not ${idleMs}`);
    this.path = path;
    this.#idleMs = idleMs;
    this.#target = connect ?? path;
  }

  /** Where connections go: the socket file, or the server in this process. */
  readonly #target: Target;

  /**
   * Runs `run` with the session to send a command on, or undefined when the server offers none (the
   * caller then sends it on a connection of its own); resolves with what `run` resolves with. Calls
   * run in the order they were made, so commands go out in that order. After {@link close}, `run`
   * gets a session whose commands fail with {@link ClientClosed}.
   */
  withSession<T>(run: (session: Session | undefined) => T | Promise<T>): Promise<T> {
    if (this.#closed) return settle(run, closedSession);
    if (this.#waiting.length === 0 && !this.#probing && !this.#draining) {
      if (this.#connection?.usable) return settle(run, this.#connection);
      if (this.#oneShot) return settle(run, undefined);
    }
    const result = new Promise<T>((resolve, reject) =>
      this.#waiting.push((session) => settle(run, session).then(resolve, reject)),
    );
    if (!this.#probing && !this.#draining) void this.#probe();
    return result;
  }

  /**
   * How many of this client's sessions have ended (closed when idle, lost, refused): what the server
   * said on one may no longer hold on the next, which may be another server on the same path.
   */
  get sessionsEnded(): number {
    return this.#ended;
  }

  /**
   * Says that the server was found gone (a connection refused, no socket file) outside a session: the
   * next command asks `hello` again, since another server may come on that path.
   */
  serverLost(): void {
    this.#oneShot = false;
  }

  /**
   * Closes the session: commands in flight fail with {@link ClientClosed}, streams end, and every
   * later command fails too. Resolves once the connection has closed. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closed) return this.#closing;
    this.#closed = true;
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection) this.#closing = connection.close();
    if (!this.#probing) this.#drain(closedSession);
    return this.#closing;
  }

  async #probe(): Promise<void> {
    this.#probing = true;
    const offers = await askHello(this.#target);
    this.#probing = false;
    if (this.#closed) return this.#drain(closedSession);
    if (offers) {
      const connection = new SessionConnection(this.path, this.#target, this.#idleMs, () => {
        this.#ended++;
        if (this.#connection === connection) this.#connection = undefined;
      });
      this.#connection = connection;
      return this.#drain(connection);
    }
    if (offers === false) this.#oneShot = true;
    this.#drain(undefined);
  }

  /** Hands the waiting commands their session, in order (those that come meanwhile wait behind them). */
  #drain(session: Session | undefined): void {
    this.#draining = true;
    try {
      while (this.#waiting.length > 0) {
        const waiting = this.#waiting;
        this.#waiting = [];
        for (const run of waiting) run(session);
      }
    } finally {
      this.#draining = false;
    }
  }
}

/** `run(session)` as a promise, a synchronous throw included. */
function settle<T>(run: (session: Session | undefined) => T | Promise<T>, session: Session | undefined): Promise<T> {
  try {
    return Promise.resolve(run(session));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Asks the server at `path` what it offers (`hello`): true when it offers sessions, false when its
 * reply says it does not (eric-sse's refusal, or an eric-bus server without them), undefined when
 * there was no reply to go by (no server, a connection dropped, a busy server turning it away).
 */
function askHello(target: Target): Promise<boolean | undefined> {
  return oneShotReply(target, JSON.stringify({ v: HELLO_VERB })).then(offersSessions, () => undefined);
}

/** What a reply to `hello` says about sessions (see {@link askHello}). */
function offersSessions(reply: string): boolean | undefined {
  const text = reply.trim();
  if (text === '') return undefined;
  let hello: unknown;
  try {
    hello = JSON.parse(text);
  } catch {
    // Not JSON: an error reply, read below.
  }
  if (typeof hello === 'object' && hello !== null && (hello as { server?: unknown }).server === 'eric-bus') {
    const { features } = hello as { features?: unknown };
    return Array.isArray(features) && features.includes('session');
  }
  // A server with too many connections waiting turned this one away: it said nothing about itself.
  return parseException(text) instanceof LimitExceeded ? undefined : false;
}

/** A command or stream in flight; `sent` once its frame is written to the socket. */
type Pending =
  | { kind: 'request'; bytes: number; sent: boolean; resolve: (reply: string) => void; reject: (error: Error) => void }
  | { kind: 'stream'; bytes: number; sent: boolean; handlers: SessionStreamHandlers };

/** One session: one Unix connection, its frames written in batches, its replies routed by id. */
class SessionConnection implements Session {
  readonly #path: string;
  readonly #idleMs: number;
  /** Tells the client that this session takes no more commands. */
  readonly #gone: () => void;
  #socket: Socket | undefined;
  readonly #pending = new Map<number, Pending>();
  /** Frames waiting to be written, and the command each opens (if it does). */
  #out: string[] = [];
  #outOwners: (Pending | undefined)[] = [];
  #flushScheduled = false;
  #needDrain = false;
  #nextId = 1;
  /** The server has answered the opening. */
  #opened = false;
  /** Closing or closed: no new commands (the client opens another session for them). */
  #ending = false;
  /** Set once closed: what later commands fail with. */
  #failure: Error | undefined;
  /** The error the socket reported, for the message of what it took down. */
  #socketError: NodeJS.ErrnoException | undefined;
  /** The longest line the server takes, once a refusal has said it. */
  #lineLimit = Infinity;
  #refd = true;
  #idle: NodeJS.Timeout | undefined;
  readonly #splitter = new LineSplitter();
  readonly #closed: Promise<void>;
  #markClosed!: () => void;

  constructor(path: string, target: Target, idleMs: number, gone: () => void) {
    this.#path = path;
    this.#idleMs = idleMs;
    this.#gone = gone;
    this.#closed = new Promise((resolve) => (this.#markClosed = resolve));
    connectTo(target, (socket) => this.#attach(socket)).catch((error: unknown) =>
      this.#shut(connectFailure(path, error) as Error, 'unreachable'),
    );
  }

  /** Takes new commands: not closing, not closed. */
  get usable(): boolean {
    return !this.#ending;
  }

  request(command: object): Promise<string> {
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      const made = this.#frame(id, command, {});
      if (made instanceof Error) return reject(made);
      const pending: Pending = { kind: 'request', bytes: made.bytes, sent: false, resolve, reject };
      this.#pending.set(id, pending);
      this.#enqueue(made.frame, pending);
    });
  }

  stream(command: object, window: number, handlers: SessionStreamHandlers): SessionStream {
    const id = this.#nextId++;
    const made = this.#frame(id, command, { credit: window });
    if (made instanceof Error) {
      queueMicrotask(() => handlers.error(made));
      return NO_STREAM;
    }
    const pending: Pending = { kind: 'stream', bytes: made.bytes, sent: false, handlers };
    this.#pending.set(id, pending);
    this.#enqueue(made.frame, pending);
    return {
      grant: (credit) => {
        if (credit > 0 && this.#pending.get(id) === pending) this.#enqueue(frameText(id, { v: CREDIT_VERB, credit }));
      },
      cancel: () => {
        if (this.#pending.get(id) !== pending) return;
        this.#pending.delete(id);
        this.#enqueue(frameText(id, { v: CANCEL_VERB }));
      },
    };
  }

  /** Closes the session for good (the client's `close()`): see {@link SessionClient.close}. */
  close(): Promise<void> {
    if (this.#failure === undefined) {
      // What is queued goes first: a cancel or credit frame, a command no one waits for any more.
      this.#flush();
      const busy = this.#pending.size > 0;
      this.#shut(new ClientClosed('Client closed'), 'closed');
      if (busy) this.#socket?.destroy();
      else this.#socket?.end();
      // A server slow to close its side does not hold the process.
      this.#socket?.unref();
    }
    return this.#closed;
  }

  /** A command's frame and its size in bytes (the server's limit is per line), or why it cannot be sent. */
  #frame(id: number, command: object, extra: object): { frame: string; bytes: number } | Error {
    if (this.#failure) return this.#failure;
    if (this.#ending)
      return new ConnectionLost(`The session with ${this.#path} has closed: command ${id} was not sent`);
    let frame: string;
    try {
      frame = frameText(id, { ...commandKeysOf(command as Record<string, unknown>), ...extra });
    } catch (error) {
      // A payload JSON cannot write (too deep for the stack, a cycle, a BigInt).
      return new InvalidMessageFormat(`The command cannot be sent as JSON: ${(error as Error).message}`);
    }
    const bytes = Buffer.byteLength(frame);
    if (bytes > this.#lineLimit) return new InvalidMessageFormat(`Frame exceeds the limit of ${this.#lineLimit} bytes`);
    return { frame, bytes };
  }

  #attach(socket: Socket): void {
    this.#socket = socket;
    socket.on('error', (error: NodeJS.ErrnoException) => (this.#socketError ??= error));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => {
      this.#needDrain = false;
      this.#flush();
    });
    socket.once('end', () => this.#shut(undefined, 'ended'));
    socket.once('close', () => {
      this.#shut(undefined, 'lost');
      this.#markClosed();
    });
    if (this.#failure) return void socket.destroy();
    // The frames wait for the server's answer: a server that did not open the session has run none.
    socket.write(`${JSON.stringify(SESSION_OPENING)}\n`);
    this.#updateActivity();
  }

  /** Queues a frame; the frames queued in one turn of the event loop go out in one write. */
  #enqueue(frame: string, owner?: Pending): void {
    this.#out.push(frame);
    this.#outOwners.push(owner);
    this.#updateActivity();
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  /** Writes what is queued while the socket takes it; past its buffer, the rest waits for `drain`. */
  #flush(): void {
    const socket = this.#socket;
    if (!socket || !this.#opened || this.#needDrain || this.#failure) return;
    const out = this.#out;
    const owners = this.#outOwners;
    let taken = 0;
    while (taken < out.length && !this.#needDrain) {
      let end = taken;
      let size = 0;
      do size += out[end++]!.length + 1;
      while (end < out.length && size < WRITE_BATCH_CHARS);
      for (let i = taken; i < end; i++) if (owners[i]) owners[i]!.sent = true;
      const text = `${out.slice(taken, end).join('\n')}\n`;
      taken = end;
      if (!socket.write(text)) this.#needDrain = true;
    }
    out.splice(0, taken);
    owners.splice(0, taken);
    this.#updateActivity();
  }

  #onData(chunk: Buffer): void {
    for (const line of this.#splitter.push(chunk)) {
      if (this.#failure) return;
      this.#receive(line);
    }
  }

  #receive(line: string): void {
    if (!this.#opened) {
      if (!isOpeningReply(line)) return this.#refused(line);
      this.#opened = true;
      return this.#flush();
    }
    // Most lines are events: their text is passed on as it came, unparsed.
    const data = readDataFrame(line);
    if (data) {
      const pending = this.#pending.get(data.id);
      if (pending?.kind === 'stream') pending.handlers.event(data.event);
      return;
    }
    const frame = parseReplyFrame(line);
    if (!frame) return log().warn('eric-bus: ignoring a line of a session that is not a reply frame:', line);
    if (frame.id === null) return this.#unattributed((frame as { error: string }).error);
    const id = frame.id as number;
    const pending = this.#pending.get(id);
    // A stream cancelled while its frames were on the way.
    if (!pending) return;
    if ('data' in frame) {
      if (pending.kind === 'stream') pending.handlers.event(JSON.stringify(frame.data));
      return;
    }
    this.#pending.delete(id);
    if (pending.kind === 'request') {
      if ('ok' in frame) pending.resolve(frame.ok);
      else if ('error' in frame) pending.reject(errorFromFrame(frame.error));
      else pending.reject(unexpected(line));
    } else if ('end' in frame) pending.handlers.end();
    else if ('error' in frame) pending.handlers.error(errorFromFrame(frame.error));
    else pending.handlers.error(unexpected(line));
    this.#updateActivity();
  }

  /**
   * An error frame without an id: the server refused a line it could not read. Ours does so only for
   * a line too long, saying its limit; lines are read in order and each such refusal is written in
   * that order, so it is the oldest command still waiting whose frame is over that limit.
   */
  #unattributed(error: string): void {
    const limit = LINE_LIMIT.exec(error);
    if (limit) {
      this.#lineLimit = Number(limit[1]);
      for (const [id, pending] of this.#pending) {
        if (!pending.sent || pending.bytes <= this.#lineLimit) continue;
        this.#pending.delete(id);
        if (pending.kind === 'request') pending.reject(errorFromFrame(error));
        else pending.handlers.error(errorFromFrame(error));
        return this.#updateActivity();
      }
    }
    log().warn('eric-bus: the socket server refused a line of a session:', error);
  }

  /** The server answered the opening with something else: no command was sent. */
  #refused(line: string): void {
    this.#shut(
      new ConnectionLost(
        `The socket server at ${this.#path} did not open a session (${line.slice(0, 200)}): no command was sent`,
      ),
      'refused',
    );
    this.#socket?.destroy();
  }

  /**
   * The session takes no more commands, and those in flight are settled: `closed` by the client
   * (ClientClosed; streams end), `ended` by the server in order (ConnectionLost; streams end, as a
   * one-shot stream ends at the server's end of file), `lost` (ConnectionLost; streams fail),
   * `refused` or `unreachable` (`failure` for all).
   */
  #shut(failure: Error | undefined, how: 'closed' | 'ended' | 'lost' | 'refused' | 'unreachable'): void {
    if (!this.#ending) {
      this.#ending = true;
      this.#gone();
    }
    clearTimeout(this.#idle);
    this.#idle = undefined;
    if (how === 'unreachable') this.#markClosed();
    if (this.#pending.size === 0 && this.#failure) return;
    const why =
      how === 'ended'
        ? `The socket server at ${this.#path} closed the session`
        : `Lost the session with the socket server at ${this.#path}` +
          (this.#socketError ? ` (${this.#socketError.code ?? this.#socketError.message})` : '');
    this.#failure ??= failure ?? new ConnectionLost(`${why}: it takes no more commands`);
    const pending = [...this.#pending];
    this.#pending.clear();
    this.#out = [];
    this.#outOwners = [];
    for (const [id, item] of pending) {
      const error =
        failure ??
        new ConnectionLost(
          item.sent
            ? `${why} before the reply to command ${id}: it may have run`
            : `${why} before command ${id} was sent: it did not run`,
        );
      if (item.kind === 'request') item.reject(error);
      else if (how === 'closed' || (how === 'ended' && item.sent)) item.handlers.end();
      else item.handlers.error(error);
    }
  }

  /** Holds the process and stops the idle timer while something is in flight; the reverse when nothing is. */
  #updateActivity(): void {
    const busy = this.#pending.size > 0 || this.#out.length > 0;
    if (busy) {
      if (this.#idle !== undefined) {
        clearTimeout(this.#idle);
        this.#idle = undefined;
      }
      if (!this.#refd && this.#socket) {
        this.#socket.ref();
        this.#refd = true;
      }
      return;
    }
    if (this.#refd && this.#socket) {
      this.#socket.unref();
      this.#refd = false;
    }
    if (this.#idle === undefined && !this.#ending) {
      this.#idle = setTimeout(() => this.#retire(), this.#idleMs);
      this.#idle.unref();
    }
  }

  /** Idle long enough: closed from this side, before the server's own idle close could cross a command. */
  #retire(): void {
    this.#idle = undefined;
    if (this.#ending) return;
    this.#ending = true;
    this.#gone();
    this.#socket?.end();
  }
}

/** The server's answer to the opening: `{"id": null, "ok": "session"}`. */
function isOpeningReply(line: string): boolean {
  try {
    const reply = JSON.parse(line) as { id?: unknown; ok?: unknown };
    return reply.id === null && reply.ok === 'session';
  } catch {
    return false;
  }
}

function unexpected(line: string): InvalidMessageFormat {
  return new InvalidMessageFormat(`Unexpected reply frame from the socket server: ${line.slice(0, 200)}`);
}
