/**
 * One command on the socket server: one Unix connection that writes the command, half-closes,
 * and reads the reply — a whole string, or for `l`/`w` a stream of JSON lines read only as fast
 * as the caller can pass them on (`pause`/`resume`). Speaks nothing but the socket protocol,
 * so any server of it works (ours, eric-sse's Python one).
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { BackendUnavailable, formatException, InvalidMessageFormat, parseException } from '../../src/errors.js';
import { looksLikeObject } from '../../src/wire/json-scan.js';
import { openCommand } from '../socket/connect.js';
import type { InFlightLimit } from './in-flight.js';

/** Lines of a chunk, by position: line `i` is `sources[i][starts[i]..ends[i])` (no copy, no view per line). */
export interface LineBatch {
  readonly sources: Buffer[];
  readonly starts: number[];
  readonly ends: number[];
}

/** Where a call's outcome goes. Exactly one of `reply`, `end` or `error` ends a call. */
export interface BackendCallHandlers {
  /** The command went out (before any reply); not called when the call fails or is cancelled first. */
  written?(): void;
  /** The whole plain reply of a non-streaming verb (`ack`, an id). */
  reply(text: string): void;
  /**
   * Event lines of a stream, a chunk at a time, each a JSON object without its newline. The
   * batch is reused: read it during the call only.
   */
  lines(batch: LineBatch): void;
  /** The stream ended (the server closed it). */
  end(): void;
  /** The server replied an error, or could not be reached: the text is `Name('detail')`. */
  error(text: string): void;
}

const NEWLINE = 0x0a;

/** How long an `rs` waits for the server's answer before its connection is given up. */
const REMOVE_STREAMS_TIMEOUT_MS = 5000;

const utf8 = new TextDecoder();

export class BackendCall {
  readonly #streaming: boolean;
  readonly #handlers: BackendCallHandlers;
  readonly #path: string;
  /** A stream's key (`s`), which an `rs` names to end it on the server when the stream is cancelled. */
  readonly #key: string | undefined;
  #socket: Socket | undefined;
  #done = false;
  #written = false;
  #paused = false;
  /** Reply bytes (plain verbs) or the start of an unfinished line (streams). */
  #pending: Buffer[] = [];

  constructor(socketPath: string, command: object, streaming: boolean, handlers: BackendCallHandlers) {
    this.#path = socketPath;
    this.#streaming = streaming;
    this.#handlers = handlers;
    this.#key = streaming ? randomUUID() : undefined;
    const text = JSON.stringify(streaming ? { ...command, s: this.#key } : command);
    openCommand(socketPath, text, (socket) => this.#attach(socket)).then(
      () => {
        if (this.#written && !this.#done) this.#handlers.written?.();
      },
      (error: NodeJS.ErrnoException) => {
        if (!this.#done) this.#fail(unreachable(this.#path, error.code ?? error.message));
      },
    );
  }

  /** Stops reading: the server, seeing a full socket, stops taking messages from the queue. */
  pause(): void {
    this.#paused = true;
    if (!this.#done) this.#socket?.pause();
  }

  resume(): void {
    this.#paused = false;
    if (!this.#done) this.#socket?.resume();
  }

  /**
   * Closes the Unix connection without reporting anything (a cancelled stream, a closed WebSocket).
   * Returns the stream's key when the server may still be serving it (its command went out and it
   * has not ended): the server cannot see an idle stream's client leave, so the caller sends an
   * `rs` naming the key.
   */
  cancel(): string | undefined {
    const open = this.#written && !this.#done;
    this.#done = true;
    this.#socket?.destroy();
    return open ? this.#key : undefined;
  }

  #attach(socket: Socket): void {
    this.#socket = socket;
    // Listening for errors first: the command's write may fail at once.
    socket.on('error', (error: NodeJS.ErrnoException) => this.#onError(error));
    if (this.#done) return void socket.destroy();
    this.#written = true;
    socket.on('data', (chunk: Buffer) => (this.#streaming ? this.#onStreamData(chunk) : this.#pending.push(chunk)));
    socket.once('end', () => this.#onEnd());
    socket.once('close', () => this.#onEnd());
    if (this.#paused) socket.pause();
  }

  readonly #batch: LineBatch = { sources: [], starts: [], ends: [] };

  #onStreamData(data: Buffer): void {
    if (this.#done) return;
    const batch = this.#batch;
    batch.sources.length = batch.starts.length = batch.ends.length = 0;
    let start = 0;
    let newline = data.indexOf(NEWLINE);
    if (this.#pending.length > 0) {
      // The line cut by the previous chunk: only its own bytes are copied together.
      if (newline < 0) return void this.#pending.push(data);
      const head = Buffer.concat([...this.#pending, data.subarray(0, newline)]);
      this.#pending = [];
      if (!this.#addLine(head, 0, head.length)) return;
      start = newline + 1;
      newline = data.indexOf(NEWLINE, start);
    }
    for (; newline >= 0; newline = data.indexOf(NEWLINE, start)) {
      const lineStart = start;
      start = newline + 1;
      if (!this.#addLine(data, lineStart, newline)) return;
    }
    if (start < data.length) this.#pending.push(data.subarray(start));
    if (batch.starts.length > 0) this.#handlers.lines(batch);
  }

  /**
   * Adds a line to the batch (without a trailing CR); a line that is not an event passes on the lines
   * before it, then fails the call.
   */
  #addLine(source: Buffer, start: number, end: number): boolean {
    if (end > start && source[end - 1] === 0x0d) end--;
    if (end === start) return true;
    const batch = this.#batch;
    // A line that is not a JSON object (the server's events) is an error reply.
    if (!looksLikeObject(source, start, end)) {
      if (batch.starts.length > 0) this.#handlers.lines(batch);
      this.#fail(utf8.decode(source.subarray(start, end)));
      return false;
    }
    batch.sources.push(source);
    batch.starts.push(start);
    batch.ends.push(end);
    return true;
  }

  #onEnd(): void {
    if (this.#done) return;
    const rest = Buffer.concat(this.#pending);
    this.#pending = [];
    if (this.#streaming) {
      const batch = this.#batch;
      batch.sources.length = batch.starts.length = batch.ends.length = 0;
      if (!this.#addLine(rest, 0, rest.length)) return;
      if (batch.starts.length > 0) this.#handlers.lines(batch);
      this.#finish();
      this.#handlers.end();
      return;
    }
    const text = utf8.decode(rest).replace(/\r?\n$/, '');
    if (text === '')
      return this.#fail(
        formatException(new BackendUnavailable('The socket server closed the connection without a reply')),
      );
    if (parseException(text)) return this.#fail(text);
    this.#finish();
    this.#handlers.reply(text);
  }

  #onError(error: NodeJS.ErrnoException): void {
    if (this.#done) return;
    // A reply that arrived is the answer: the server may reset the connection after it (one that
    // refused an oversized command, say), and the reset is not what it said.
    if (!this.#streaming && this.#pending.length > 0) return this.#onEnd();
    this.#fail(
      formatException(
        new BackendUnavailable(
          `Lost the connection to the socket server at ${this.#path} (${error.code ?? error.message})`,
        ),
      ),
    );
  }

  /** Reports an error: a server's `Name('detail')` as it came, any other text as a format error. */
  #fail(text: string): void {
    this.#finish();
    const reply = parseException(text)
      ? text
      : formatException(new InvalidMessageFormat(`Unexpected reply from the socket server: ${text.slice(0, 200)}`));
    this.#handlers.error(reply);
  }

  #finish(): void {
    this.#done = true;
    this.#socket?.destroy();
  }
}

/** The bridge's reply when the socket server cannot be reached: `BackendUnavailable('Cannot reach …')`. */
export function unreachable(socketPath: string, why: string): string {
  return formatException(new BackendUnavailable(`Cannot reach the socket server at ${socketPath} (${why})`));
}

/**
 * Tells the server that the streams with these keys (from {@link BackendCall.cancel}) have lost
 * their client (`rs`), on a connection of its own, when `limit` (if any) has room: an idle stream
 * would otherwise hold its connection, and a watch its listener, until the next message. A server
 * that does not know `rs` (eric-sse's) answers an error, which is ignored.
 */
export function removeStreams(socketPath: string, keys: string[], limit?: InFlightLimit): void {
  const send = (release: () => void) => {
    let call: BackendCall | undefined;
    let released = false;
    const done = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      release();
    };
    // A server that does not answer is not waited for long: the slot goes back either way.
    const timer = setTimeout(() => {
      call?.cancel();
      done();
    }, REMOVE_STREAMS_TIMEOUT_MS);
    timer.unref();
    try {
      call = new BackendCall(socketPath, { v: 'rs', s: keys }, false, {
        reply: done,
        lines() {},
        end: done,
        error: done,
      });
    } catch {
      done();
    }
  };
  if (limit) limit.acquire(() => send(() => limit.release()));
  else send(() => {});
}
