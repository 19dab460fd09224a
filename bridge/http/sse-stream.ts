/**
 * One Server-Sent Events response of the HTTP face (docs/protocol.md, "The HTTP face"): an `l` or
 * `w` command on its own Unix connection, relayed as `text/event-stream` at the pace the HTTP
 * client reads it.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { MESSAGE_TYPE_INTERNAL_ERROR } from '../../src/bus/message.js';
import { BridgeRefused, formatException } from '../../src/errors.js';
import { timerAt } from '../../src/timer-at.js';
import type { RelayedCommand } from '../../src/wire/bridge-frames.js';
import { metrics } from '../metrics/metrics.js';
import type { LineBatch } from '../relay/backend-call.js';
import { BackendCall, removeStreams } from '../relay/backend-call.js';
import { HIGH_WATER } from '../relay/in-flight.js';
import { encodeSseEvents, KEEP_ALIVE, sseEvent } from './sse-frames.js';

/** What an {@link SseStream} needs from the HTTP face. */
export interface SseStreamOptions {
  /** The socket server's path. */
  socketPath: string;
  /** Headers the response carries besides the event-stream ones (CORS). */
  headers: OutgoingHttpHeaders;
  /** How long to wait for the server's first reply before opening the stream anyway (see the class). */
  openWaitMs: number;
  /** Answers the request with an error reply instead of a stream (its status comes from the error's name). */
  fail(error: string): void;
  /** Called once, when the response is over, whichever way it ended. */
  done(): void;
  /**
   * When the signed token that opened it expires, in ms since the epoch: the stream then ends with an
   * `_eric_error` event naming the expiry (docs/security.md, "Refreshing a token").
   */
  expiresAt?: number;
}

/** The headers of an open stream: no caching, no proxy buffering (nginx), every event on its way at once. */
const EVENT_STREAM_HEADERS: OutgoingHttpHeaders = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
};

/**
 * Relays one stream. The socket protocol has no "stream opened" reply, and an `l` on a removed
 * listener must answer 404, not 200 (an EventSource retries after a 200 that ends, every few
 * milliseconds with eric-sse's `retry: 5`, but gives up on a 404). So the status waits for the
 * server's first reply: an event opens the stream (200), an error becomes a JSON error reply;
 * with nothing to send, the stream opens after `openWaitMs` (eric-bus's and eric-sse's servers
 * answer a bad command at once). An error after that arrives as an `_eric_error` event, then the
 * stream ends. Backpressure runs from the HTTP response to the Unix socket, so the server takes
 * no message the client cannot read yet; a client that goes away closes the Unix connection at once.
 */
export class SseStream {
  readonly #response: ServerResponse;
  readonly #options: SseStreamOptions;
  readonly #call: BackendCall;
  readonly #openTimer: ReturnType<typeof setTimeout>;
  #cancelExpiry: (() => void) | undefined;
  #open = false;
  #done = false;
  #paused = false;
  /** Whether anything went out since the last keep-alive tick. */
  #wrote = false;

  constructor(response: ServerResponse, command: RelayedCommand, options: SseStreamOptions) {
    this.#response = response;
    this.#options = options;
    response.once('close', () => this.#finish());
    response.on('drain', () => {
      this.#paused = false;
      this.#call.resume();
    });
    this.#call = new BackendCall(options.socketPath, command, true, {
      lines: (batch) => this.#events(batch),
      end: () => this.#end(),
      error: (text) => this.#error(text),
      // A streaming call ends with `end` or `error`; a plain reply cannot come.
      reply: (text) => this.#error(text),
    });
    this.#openTimer = setTimeout(() => this.#openNow(), options.openWaitMs);
    if (options.expiresAt !== undefined) this.#armExpiry(options.expiresAt);
  }

  /** Ends the stream when its token expires: the client reconnects with a fresh one, after the last id it got. */
  #armExpiry(at: number): void {
    this.#cancelExpiry = timerAt(
      at,
      () => {
        this.#cancelCall();
        this.#error(formatException(new BridgeRefused(`token expired at ${new Date(at).toISOString()}`, 401)));
      },
      true,
    );
  }

  /** Called every keep-alive interval: writes a comment unless something went out since the last call. */
  keepAlive(): void {
    if (this.#open && !this.#done && !this.#wrote && !this.#paused) this.#response.write(KEEP_ALIVE);
    this.#wrote = false;
  }

  /** Ends the stream from the bridge's side (it is shutting down); the client may reconnect elsewhere. */
  close(): void {
    if (this.#done) return;
    this.#cancelCall();
    this.#end();
  }

  #openNow(): void {
    if (this.#open || this.#done) return;
    this.#open = true;
    clearTimeout(this.#openTimer);
    this.#response.writeHead(200, { ...this.#options.headers, ...EVENT_STREAM_HEADERS });
    this.#response.flushHeaders();
  }

  #events(batch: LineBatch): void {
    if (this.#done) return;
    this.#openNow();
    const { bytes, unreadable } = encodeSseEvents(batch);
    this.#write(bytes);
    metrics?.relayed('sse', batch.starts.length, bytes.length);
    if (unreadable) {
      this.#cancelCall();
      this.#error(formatException(unreadable));
    }
  }

  /**
   * Writes to the response; once more than {@link HIGH_WATER} waits to go out, stops reading the
   * Unix stream until the response drains, so the server stops taking messages from the queue.
   * (Pausing at the socket's own 16 KB mark instead would pause and resume at every chunk.)
   */
  #write(bytes: Buffer): void {
    this.#wrote = true;
    this.#response.write(bytes);
    if (this.#paused || this.#response.writableLength <= HIGH_WATER) return;
    this.#paused = true;
    metrics?.paused();
    this.#call.pause();
  }

  #end(): void {
    if (this.#done) return;
    this.#openNow();
    this.#response.end();
    this.#finish();
  }

  #error(text: string): void {
    if (this.#done) return;
    if (!this.#open) {
      clearTimeout(this.#openTimer);
      this.#options.fail(text);
      return this.#finish();
    }
    this.#write(sseEvent(MESSAGE_TYPE_INTERNAL_ERROR, { error: text }));
    this.#end();
  }

  /** Closes the Unix connection; a stream the server may still be serving is named to it (`rs`). */
  #cancelCall(): void {
    const key = this.#call.cancel();
    if (key !== undefined) removeStreams(this.#options.socketPath, [key]);
  }

  /** The response is over (ended, failed, or the client went away): let go of everything. */
  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#openTimer);
    this.#cancelExpiry?.();
    this.#cancelCall();
    this.#options.done();
  }
}
