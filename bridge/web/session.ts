/**
 * One WebSocket on the bridge: its commands and streams in flight by id, each on its own Unix
 * connection; backpressure from the WebSocket to the Unix sockets; everything closed with it.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { formatException, InvalidMessageFormat, TooManyStreams, VerbNotAllowed } from '../../src/errors.js';
import {
  endFrame,
  errorFrame,
  type FrameId,
  okFrame,
  parseClientFrame,
  type RelayedCommand,
} from '../../src/wire/bridge-frames.js';
import { isStreamingVerb, type Verb } from '../../src/wire/socket-protocol.js';
import { BackendCall } from './backend-call.js';
import { dataFramePrefix, encodeDataFrames, type LineBatch } from './data-frames.js';

/** What a session enforces. */
export interface SessionOptions {
  /** The socket server's path. */
  socketPath: string;
  /** Verbs this bridge forwards. */
  allow: ReadonlySet<Verb>;
  /** Streams one WebSocket may have open at once. */
  maxStreams: number;
}

/** Bytes waiting to go out to a client (WebSocket or event stream) above which its Unix streams stop being read. */
export const HIGH_WATER = 1 << 20;
const OPEN = 1;

export class BridgeSession {
  readonly #ws: WebSocket;
  readonly #tcp: Socket;
  readonly #options: SessionOptions;
  readonly #calls = new Map<FrameId, { call: BackendCall; streaming: boolean }>();
  #streams = 0;
  #paused = false;
  #closed = false;

  constructor(ws: WebSocket, tcp: Socket, options: SessionOptions) {
    this.#ws = ws;
    this.#tcp = tcp;
    this.#options = options;
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onFrame(data, isBinary));
    ws.once('close', () => this.close());
    tcp.on('drain', () => this.#resumeStreams());
  }

  /** Closes every Unix connection this WebSocket opened. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { call } of this.#calls.values()) call.cancel();
    this.#calls.clear();
    this.#streams = 0;
  }

  #onFrame(data: Buffer, isBinary: boolean): void {
    if (this.#closed) return;
    if (isBinary)
      return this.#send(
        errorFrame(null, formatException(new InvalidMessageFormat('Frames are JSON text, not binary'))),
      );
    const frame = parseClientFrame(data.toString('utf8'));
    if (frame.kind === 'invalid') return this.#send(errorFrame(frame.id, frame.error));
    if (frame.kind === 'cancel') return this.#cancel(frame.id);
    const { id, verb, command } = frame;
    if (this.#calls.has(id))
      return this.#refuse(id, new InvalidMessageFormat(`Id ${JSON.stringify(id)} is already in flight`));
    if (!this.#options.allow.has(verb))
      return this.#refuse(id, new VerbNotAllowed(`Verb '${verb}' is not allowed on this bridge`));
    const streaming = isStreamingVerb(verb);
    if (streaming && this.#streams >= this.#options.maxStreams) {
      return this.#refuse(
        id,
        new TooManyStreams(`This connection already has ${this.#options.maxStreams} streams open`),
      );
    }
    this.#start(id, command, streaming);
  }

  #start(id: FrameId, command: RelayedCommand, streaming: boolean): void {
    const prefix = streaming ? dataFramePrefix(id) : undefined;
    const settle = () => {
      this.#calls.delete(id);
      if (streaming) this.#streams--;
    };
    const call = new BackendCall(this.#options.socketPath, command, streaming, {
      reply: (text) => {
        settle();
        this.#send(okFrame(id, text));
      },
      lines: (batch) => this.#sendLines(prefix!, batch),
      end: () => {
        settle();
        this.#send(endFrame(id));
      },
      error: (text) => {
        settle();
        this.#send(errorFrame(id, text));
      },
    });
    this.#calls.set(id, { call, streaming });
    if (streaming) {
      this.#streams++;
      if (this.#paused) call.pause();
    }
  }

  #cancel(id: FrameId): void {
    const entry = this.#calls.get(id);
    // A cancel of a finished (or unknown) stream is not an error: its end may have crossed the cancel.
    if (!entry?.streaming) return;
    this.#calls.delete(id);
    this.#streams--;
    entry.call.cancel();
  }

  #refuse(id: FrameId, error: Error): void {
    this.#send(errorFrame(id, formatException(error)));
  }

  #send(frame: string | Buffer): void {
    if (this.#ws.readyState === OPEN) this.#ws.send(frame, { binary: false });
  }

  /**
   * A chunk's worth of events as one write of ready-made frames, straight to the WebSocket's
   * TCP socket: `ws` sends each frame as two writes, which costs more than the relaying itself.
   * Safe because `ws` (without compression) writes whole frames synchronously, so frames never
   * interleave; nothing is written once the WebSocket is closing. Once the socket backs up, the
   * Unix streams stop being read, which stops the server taking messages from the queues.
   */
  #sendLines(prefix: Buffer, batch: LineBatch): void {
    if (this.#ws.readyState !== OPEN) return;
    this.#tcp.write(encodeDataFrames(prefix, batch));
    if (!this.#paused && this.#tcp.writableLength > HIGH_WATER) this.#pauseStreams();
  }

  #pauseStreams(): void {
    this.#paused = true;
    for (const { call, streaming } of this.#calls.values()) if (streaming) call.pause();
  }

  #resumeStreams(): void {
    if (!this.#paused || this.#closed) return;
    this.#paused = false;
    for (const { call, streaming } of this.#calls.values()) if (streaming) call.resume();
  }
}
