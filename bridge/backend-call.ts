/**
 * One command on the socket server: one Unix connection that writes the command, half-closes,
 * and reads the reply — a whole string, or for `l`/`w` a stream of JSON lines read only as fast
 * as the caller can pass them on (`pause`/`resume`). Speaks nothing but the socket protocol,
 * so any server of it works (ours, eric-sse's Python one).
 */
import { connect, type Socket } from 'node:net';
import { BackendUnavailable, formatException, InvalidMessageFormat, parseException } from '../src/index.js';
import { isJsonObjectLine } from './ws-frames.js';

/** Where a call's outcome goes. Exactly one of `reply`, `end` or `error` ends a call. */
export interface BackendCallHandlers {
  /** The whole plain reply of a non-streaming verb (`ack`, an id). */
  reply(text: string): void;
  /**
   * Event lines of a stream, a chunk at a time: line `i` is `buffer[starts[i]..ends[i])`, a
   * JSON object without its newline. The arrays are reused: read them during the call only.
   */
  lines(buffer: Buffer, starts: readonly number[], ends: readonly number[]): void;
  /** The stream ended (the server closed it). */
  end(): void;
  /** The server replied an error, or could not be reached: the text is `Name('detail')`. */
  error(text: string): void;
}

const NEWLINE = 0x0a;
const utf8 = new TextDecoder();

export class BackendCall {
  readonly #socket: Socket;
  readonly #streaming: boolean;
  readonly #handlers: BackendCallHandlers;
  readonly #path: string;
  #connected = false;
  #done = false;
  /** Reply bytes (plain verbs) or the start of an unfinished line (streams). */
  #pending: Buffer[] = [];

  constructor(socketPath: string, command: string, streaming: boolean, handlers: BackendCallHandlers) {
    this.#path = socketPath;
    this.#streaming = streaming;
    this.#handlers = handlers;
    const socket = connect(socketPath);
    this.#socket = socket;
    socket.once('connect', () => (this.#connected = true));
    socket.on('data', (chunk: Buffer) => (streaming ? this.#onStreamData(chunk) : this.#pending.push(chunk)));
    socket.once('end', () => this.#onEnd());
    socket.once('error', (error: NodeJS.ErrnoException) => this.#onError(error));
    socket.once('close', () => this.#onEnd());
    socket.end(command);
  }

  /** Stops reading: the server, seeing a full socket, stops taking messages from the queue. */
  pause(): void {
    if (!this.#done) this.#socket.pause();
  }

  resume(): void {
    if (!this.#done) this.#socket.resume();
  }

  /** Closes the Unix connection without reporting anything (a cancelled stream, a closed WebSocket). */
  cancel(): void {
    this.#done = true;
    this.#socket.destroy();
  }

  // Line bounds of the current chunk, reused from chunk to chunk: no allocation per event.
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];

  #onStreamData(data: Buffer): void {
    if (this.#done) return;
    // A line cut by the previous chunk is completed by copying (the rare case: once per chunk).
    const chunk = this.#pending.length > 0 ? Buffer.concat([...this.#pending, data]) : data;
    this.#pending = [];
    const starts = this.#starts;
    const ends = this.#ends;
    starts.length = 0;
    ends.length = 0;
    let start = 0;
    for (let newline = chunk.indexOf(NEWLINE); newline >= 0; newline = chunk.indexOf(NEWLINE, start)) {
      const end = newline > start && chunk[newline - 1] === 0x0d ? newline - 1 : newline;
      const lineStart = start;
      start = newline + 1;
      if (end === lineStart) continue;
      if (!isJsonObjectLine(chunk, lineStart, end)) {
        if (starts.length > 0) this.#handlers.lines(chunk, starts, ends);
        return this.#fail(utf8.decode(chunk.subarray(lineStart, end)));
      }
      starts.push(lineStart);
      ends.push(end);
    }
    if (start < chunk.length) this.#pending.push(chunk.subarray(start));
    if (starts.length > 0) this.#handlers.lines(chunk, starts, ends);
  }

  #onEnd(): void {
    if (this.#done) return;
    const rest = Buffer.concat(this.#pending);
    this.#pending = [];
    if (this.#streaming) {
      const end = rest.at(-1) === 0x0d ? rest.length - 1 : rest.length;
      if (end > 0 && !isJsonObjectLine(rest, 0, end)) return this.#fail(utf8.decode(rest.subarray(0, end)));
      if (end > 0) this.#handlers.lines(rest, [0], [end]);
      this.#finish();
      this.#handlers.end();
      return;
    }
    const text = utf8.decode(rest).replace(/\r?\n$/, '');
    if (text === '') return this.#fail(formatException(new BackendUnavailable('The socket server closed the connection without a reply')));
    if (parseException(text)) return this.#fail(text);
    this.#finish();
    this.#handlers.reply(text);
  }

  #onError(error: NodeJS.ErrnoException): void {
    if (this.#done) return;
    const detail = this.#connected
      ? `Lost the connection to the socket server at ${this.#path} (${error.code ?? error.message})`
      : `Cannot reach the socket server at ${this.#path} (${error.code ?? error.message})`;
    this.#fail(formatException(new BackendUnavailable(detail)));
  }

  /** Reports an error: a server's `Name('detail')` as it came, any other text as a format error. */
  #fail(text: string): void {
    this.#finish();
    const reply = parseException(text) ? text : formatException(new InvalidMessageFormat(`Unexpected reply from the socket server: ${text.slice(0, 200)}`));
    this.#handlers.error(reply);
  }

  #finish(): void {
    this.#done = true;
    this.#socket.destroy();
  }
}
