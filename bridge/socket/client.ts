/** The client of eric-sse's Unix-socket protocol, on sessions where the server offers them. */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { ClientClosed, type Command, ProtocolClient, parseException } from '../../src/index.js';
import { DEFAULT_STREAM_WINDOW } from '../../src/remote/bridge-client.js';
import { creditDue, pushStream } from '../../src/remote/push-stream.js';
import { eventLimitOf } from '../../src/wire/socket-protocol.js';
import { connectFailure, isNoServer, openCommand } from './connect.js';
import { lines } from './lines.js';
import { type Session, SessionClient, type SessionStream, sessionRoute } from './session-client.js';

/** Throws the typed error a reply carries, if it is one (`InvalidChannelException('No channel with id 2')`). */
function unlessError(reply: string): string {
  const error = parseException(reply);
  if (error) throw error;
  return reply;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/** Options of a {@link SocketClient}. */
export interface SocketClientOptions {
  /**
   * Carry commands and streams on a session when the server offers one: one connection for many
   * commands in flight (docs/protocol.md, "Sessions"). `false` sends each command on a connection
   * of its own, as eric-sse's client does. In front of a server without sessions (eric-sse's) the
   * client does that anyway.
   * @default true
   */
  sessions?: boolean;
  /**
   * Events a stream on a session may hold ahead of its consumer (a whole number, 1 or more): the
   * server sends no more until the consumer has taken some, and the rest stay queued on the server;
   * so at most that many are lost when the consumer leaves (`break`).
   * @default 256
   */
  streamWindow?: number;
}

/**
 * Talks to a {@link SocketServer} (ours or eric-sse's) on a socket file. Replies are strings
 * (`ack`, ids); error replies reject with typed errors (`InvalidChannelException`, …); streams
 * yield one JSON line per event.
 *
 * In front of an eric-bus server, commands and streams share one connection, a session, many in
 * flight at once; the client asks the server once (`hello`) and otherwise, in front of eric-sse's
 * server, sends each command on a connection of its own. The session opens again by itself after
 * the server closed it; a command in flight when it closed fails with `ConnectionLost` (it may have
 * run, and is not sent again). An idle session does not keep the process alive; {@link close} ends it.
 */
export class SocketClient extends ProtocolClient<string> {
  readonly path: string;
  readonly #sessions: SessionClient | undefined;
  readonly #window: number;
  #closed = false;

  constructor(path: string, { sessions = true, streamWindow = DEFAULT_STREAM_WINDOW }: SocketClientOptions = {}) {
    super();
    if (!(Number.isSafeInteger(streamWindow) && streamWindow > 0))
      throw new RangeError(`streamWindow is a whole number of events, 1 or more, not ${streamWindow}`);
    this.path = path;
    this.#sessions = sessions ? new SessionClient(path) : undefined;
    this.#window = streamWindow;
  }

  /**
   * Sends one command and resolves with the whole reply; rejects with the typed error the server
   * replied. On a session when there is one; anything that is not a command of the protocol's
   * verbs (`hello`, `rs`, not an object) goes on a connection of its own, as {@link sendRaw} sends it.
   */
  sendPayload(command: Command): Promise<string> {
    if (this.#closed) return Promise.reject(new ClientClosed('Client closed'));
    if (!this.#sessions || sessionRoute(command) !== 'request') return this.#oneShot(command);
    return this.#sessions.withSession((session) => (session ? session.request(command) : this.#oneShot(command)));
  }

  /**
   * Sends any JSON value as a command, on a connection of its own, and resolves with the reply text
   * as it came, errors included. A connection error after reply bytes came resolves with them: a
   * server that refuses a command it has not read whole (too large) replies, then hangs up on the
   * rest, which resets the connection (ECONNRESET, or EPIPE on the write), and the reply is what it
   * had to say. An error before any reply rejects.
   */
  sendRaw(command: Command | object): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const reply = () => resolve(Buffer.concat(chunks).toString('utf8'));
      this.#open(command, (socket) => {
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.once('error', (error) => (chunks.length > 0 ? reply() : reject(error)));
        socket.once('end', reply);
      }).catch(reject);
    });
  }

  /**
   * Sends a streaming command and yields each event line (JSON, without the newline); an error reply
   * is thrown typed. A command with `n` ends after that many events: an eric-bus server ends the
   * stream there, and one that ignores `n` (eric-sse's) is left without a word. Leaving early is
   * `break`, or `return()` at any time: while a `next()` waits on an idle stream too (a command
   * stopped by a signal), which then resolves as done. The stream opens at the first `next()`.
   *
   * On a session, the stream holds at most `streamWindow` events ahead of its consumer and leaving
   * sends a cancel frame; the server ends the stream at once (as after `rs`), and only those events
   * are lost. On a connection of its own (eric-sse's server), leaving closes the connection and
   * tells an eric-bus server to end the stream (an `rs` for the key the command carried); what the
   * server had already written into the socket is lost with it
   * (docs/socket-server.md, "How streams behave").
   */
  streamPayload(command: Command): AsyncIterableIterator<string> {
    // Streams go on the session too: its credit bounds what a `break` loses to the window (a
    // connection of its own loses whatever the kernel's buffers held), a cancel frame ends it at once
    // with no connection for an `rs`, and a thousand watches take one file descriptor, not a thousand.
    const leave = new AbortController();
    let source: Promise<AsyncIterator<string>> | undefined;
    return {
      next: async () => (await (source ??= this.#openStream(command, leave.signal))).next(),
      // A generator takes return() only between yields, after a pending next(): the abort ends the
      // read that next() waits on, so the generator gets there at once.
      return: async () => {
        leave.abort();
        if (!source) {
          source = Promise.resolve({ next: async () => DONE });
          return DONE;
        }
        return (await (await source).return?.()) ?? DONE;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * Closes the client: its session ends (commands in flight fail with `ClientClosed`, open streams
   * end), and later commands fail with `ClientClosed`; {@link sendRaw} still works. Resolves once
   * the session's connection has closed. Idempotent.
   */
  close(): Promise<void> {
    this.#closed = true;
    return this.#sessions?.close() ?? Promise.resolve();
  }

  #openStream(command: Command, leave: AbortSignal): Promise<AsyncIterator<string>> {
    if (this.#closed || !this.#sessions || sessionRoute(command) !== 'stream')
      return Promise.resolve(this.#events(command, leave));
    return this.#sessions.withSession((session) =>
      session ? this.#sessionEvents(session, command) : this.#events(command, leave),
    );
  }

  /** A stream on the session: credit granted as the consumer takes events, as `BridgeClient` does. */
  #sessionEvents(session: Session, command: Command): AsyncIterator<string> {
    const window = this.#window;
    let granted = window;
    let received = 0;
    let left = eventLimitOf(command);
    let control: SessionStream | undefined;
    const { stream, sink } = pushStream<string>(
      () => control?.cancel(),
      () => {
        const room = creditDue(window, granted, received, sink.queued);
        if (room === 0 || sink.finished) return;
        granted += room;
        control?.grant(room);
      },
    );
    control = session.stream(command, window, {
      event(line) {
        // After the command's `n` events the server ends the stream, once their delivery is recorded
        // (docs/protocol.md, "Bounded streams: n"): its end frame, waited for, says a next stream of
        // the listener starts after them. A server that sent more would not honour `n`: left.
        if (left-- === 0) {
          control?.cancel();
          return sink.finish();
        }
        received++;
        sink.push(line);
      },
      end: () => sink.finish(),
      error: (error) => sink.finish(error),
    });
    return stream;
  }

  /** One command on a connection of its own; rejects with the typed error the server replied. */
  async #oneShot(command: Command): Promise<string> {
    return unlessError(await this.sendRaw(command));
  }

  /**
   * Connects, writes the command and half-closes (`attach` adds the reply's listeners first); a
   * missing server is named plainly, and the session client asks the next server on the path anew.
   */
  async #open(command: Command | object, attach: (socket: Socket) => void): Promise<Socket> {
    try {
      return await openCommand(this.path, JSON.stringify(command), attach);
    } catch (error) {
      if (isNoServer(error)) this.#sessions?.serverLost();
      throw connectFailure(this.path, error);
    }
  }

  async *#events(command: Command, leave: AbortSignal): AsyncGenerator<string, void, undefined> {
    if (this.#closed) throw new ClientClosed('Client closed');
    const key = randomUUID();
    // Errors surface through the loop below, which reads the socket's error state.
    const socket = await this.#open({ ...command, s: key }, (s) => s.on('error', () => {}));
    const stopReading = () => socket.destroy();
    leave.addEventListener('abort', stopReading);
    let consumerLeft = false;
    let left = eventLimitOf(command);
    try {
      if (leave.aborted) return;
      for await (const line of lines(socket)) {
        if (line === '') continue;
        const item = line.startsWith('{') ? line : unlessError(line);
        // A consumer that leaves does so at a yield, or by the abort; the server's end or error reply never does.
        consumerLeft = true;
        yield item;
        consumerLeft = false;
        // The last event asked for: an eric-bus server has ended the stream (no `rs` needed).
        if (--left === 0) return;
      }
    } catch (error) {
      // The socket destroyed under the read, as asked: not a failure.
      if (!leave.aborted) throw error;
    } finally {
      leave.removeEventListener('abort', stopReading);
      socket.destroy();
      if (consumerLeft || leave.aborted) this.sendRaw({ v: 'rs', s: key }).catch(() => {});
    }
  }
}
