/**
 * One WebSocket on the bridge: its commands and streams in flight by id, each on its own Unix
 * connection; everything it holds bounded, with backpressure from the WebSocket to the Unix
 * sockets and from the Unix sockets to the WebSocket's reading; everything closed with it.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { ChunkedQueue } from '../../src/bus/queue.js';
import {
  BridgeRefused,
  Forbidden,
  formatException,
  InvalidMessageFormat,
  TooManyStreams,
  VerbNotAllowed,
} from '../../src/errors.js';
import { timerAt } from '../../src/timer-at.js';
import {
  AUTH_VERB,
  type ClientFrame,
  endFrame,
  errorFrame,
  type FrameId,
  okFrame,
  parseClientFrame,
  type RelayedCommand,
  reconnectFrame,
  TOKEN_EXPIRED_CLOSE,
} from '../../src/wire/bridge-frames.js';
import { formatError, isStreamingVerb, type Verb } from '../../src/wire/socket-protocol.js';
import type { AccessGate, Principal } from '../access/gate.js';
import { TokenRefused } from '../access/tokens.js';
import type { ServerLogger } from '../log.js';
import { metrics } from '../metrics/metrics.js';
import type { Backend, Pending } from '../relay/backend.js';
import type { LineBatch } from '../relay/backend-call.js';
import { removeStreams } from '../relay/backend-call.js';
import { HIGH_WATER, type InFlightLimit } from '../relay/in-flight.js';
import { dataFramePrefixBytes, encodeDataFrames } from './data-frames.js';

/** What a session enforces. */
export interface SessionOptions {
  /** The socket server's path. */
  socketPath: string;
  /** The socket server, as the bridge reaches it: commands on its sessions, streams on connections of their own. */
  backend: Backend;
  /** Verbs this bridge forwards. */
  allow: ReadonlySet<Verb>;
  /** Streams one WebSocket may have open (or waiting to open) at once. */
  maxStreams: number;
  /** Commands one WebSocket may have in flight on the server at once; the rest wait, in order. */
  maxInFlight: number;
  /** The bridge-wide cap on commands in flight, shared by every session. */
  inFlight: InFlightLimit;
  /** Where a fault of the bridge is reported. */
  logger: ServerLogger;
  /** Who may do what: every command is judged against the WebSocket's token. */
  gate: AccessGate;
}

const OPEN = 1;

/** One command or stream of this WebSocket, from its frame to its last reply. */
interface Call {
  readonly id: FrameId;
  readonly command: RelayedCommand;
  readonly streaming: boolean;
  /** The frame's size, counted while the call waits for its turn. */
  readonly bytes: number;
  state: 'waiting' | 'running' | 'done';
  backend?: Pending;
  /** It holds one of the in-flight slots: from its start until its reply (a stream: until its command is out). */
  holdsSlot: boolean;
  /** `data` frames the client will still take (its window); Infinity when it set none. */
  credit: number;
  /** Whether its Unix connection is paused (session backpressure or no credit). */
  paused: boolean;
  /** A stream's `data` frame prefix. */
  prefix?: Buffer;
  /** Event lines held back for want of credit (one read at most), and the frame that ends the stream after them. */
  held?: LineBatch;
  last?: string;
}

export class BridgeSession {
  readonly #ws: WebSocket;
  readonly #tcp: Socket;
  readonly #options: SessionOptions;
  /** Calls by id, waiting or running. */
  readonly #calls = new Map<FrameId, Call>();
  /** Calls waiting for a slot, in the order their frames came (cancelled ones are skipped). */
  readonly #waiting = new ChunkedQueue<Call>();
  #waitingCount = 0;
  #waitingBytes = 0;
  #running = 0;
  #streams = 0;
  /** A request for a slot is pending with the bridge-wide limit. */
  #asking = false;
  #pumping = false;
  #streamsPaused = false;
  #readingPaused = false;
  #closed = false;
  /** Draining: streams end with `reconnect`; once nothing is in flight, `#idle` runs. */
  #idle: (() => void) | undefined;
  /** The backend session this WebSocket's commands go on, in the order they came. */
  readonly #lane: number;
  /** Whose token this WebSocket holds (a fresh one comes in an `auth` frame). */
  #principal: Principal;
  /** Owners of the channels this WebSocket has learned to be its token subject's. */
  /** Closes the WebSocket when its signed token expires. */
  #cancelExpiry: (() => void) | undefined;
  /**
   * Frames waiting behind one whose judgement needs the server (who owns a channel) or a token to be
   * verified: frames take effect in the order they came, so these wait their turn. Undefined when none.
   */
  #chain: Promise<void> | undefined;
  #chained = 0;
  /** Writes are held until the end of this turn ({@link #coalesce}). */
  #corked = false;

  constructor(ws: WebSocket, tcp: Socket, options: SessionOptions, principal: Principal) {
    this.#ws = ws;
    this.#lane = options.backend.lane();
    this.#tcp = tcp;
    this.#options = options;
    this.#principal = principal;
    this.#armExpiry();
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.once('close', () => this.close());
    tcp.on('drain', () => this.#updateFlow());
  }

  /** Streams open (or waiting to open) on this WebSocket. */
  get streams(): number {
    return this.#streams;
  }

  /**
   * The bridge drains (docs/bridge.md, "Draining a bridge"): each stream ends with
   * `{"id": …, "end": true, "reconnect": true}`, and so does any stream asked for from now on, so
   * its client resumes it on another bridge; commands in flight are answered; `idle` runs once
   * none is left.
   */
  drain(idle: () => void): void {
    this.#idle = idle;
    for (const call of [...this.#calls.values()]) {
      if (!call.streaming) continue;
      this.#send(reconnectFrame(call.id));
      this.#drop(call);
    }
    this.#checkIdle();
  }

  /**
   * Once nothing is in flight while draining, runs `idle`, after the frame being sent is out (a
   * call's last frame is sent just after the call settles).
   */
  #checkIdle(): void {
    if (!this.#idle || this.#calls.size > 0) return;
    queueMicrotask(() => {
      if (this.#calls.size === 0) this.#idle?.();
    });
  }

  /** Closes every Unix connection this WebSocket opened and tells the server its streams have gone. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelExpiry?.();
    if (this.#asking) this.#options.inFlight.cancel(this.#onSlot);
    const keys: string[] = [];
    for (const call of this.#calls.values()) {
      const key = call.backend?.cancel();
      if (key !== undefined) keys.push(key);
      call.state = 'done';
      this.#release(call);
    }
    this.#calls.clear();
    while (this.#waiting.take() !== undefined);
    if (keys.length > 0) removeStreams(this.#options.socketPath, keys, this.#options.inFlight);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#closed) return;
    if (this.#chain) return this.#later(() => this.#handle(data, isBinary));
    const waiting = this.#handle(data, isBinary);
    if (waiting) this.#later(() => waiting);
  }

  /** Handles a frame; a promise while its judgement waits (the frames after it then wait for it). */
  #handle(data: Buffer, isBinary: boolean): Promise<void> | undefined {
    if (this.#closed) return undefined;
    let waiting: Promise<void> | undefined;
    try {
      waiting = this.#onFrame(data, isBinary);
    } catch (error) {
      this.#frameFailed(error);
    }
    this.#updateFlow();
    return waiting?.then(
      () => this.#updateFlow(),
      (error: unknown) => this.#frameFailed(error),
    );
  }

  /** A fault of the bridge: that frame fails, the WebSocket and the process go on. */
  #frameFailed(error: unknown): void {
    this.#options.logger.error(`bridge: a frame failed: ${error instanceof Error ? error.message : String(error)}`);
    this.#send(errorFrame(null, formatError(error)));
  }

  /** Runs `step` once every frame before it has taken effect. */
  #later(step: () => Promise<void> | undefined): void {
    this.#chained++;
    const link: Promise<void> = (this.#chain ?? Promise.resolve()).then(step).then(() => {
      this.#chained--;
      if (this.#chain === link) this.#chain = undefined;
      this.#updateFlow();
    });
    this.#chain = link;
  }

  /** Handles a frame; a promise while its judgement waits (a token to verify, a channel's owner to ask). */
  #onFrame(data: Buffer, isBinary: boolean): Promise<void> | undefined {
    if (isBinary) return this.#refuse(null, new InvalidMessageFormat('Frames are JSON text, not binary'));
    const frame = parseClientFrame(data.toString('utf8'));
    if (frame.kind === 'invalid') this.#send(errorFrame(frame.id, frame.error));
    else if (frame.kind === 'cancel') this.#cancel(frame.id);
    else if (frame.kind === 'credit') this.#credit(frame.id, frame.credit);
    else if (frame.kind === 'auth') return this.#auth(frame.id, frame.token);
    else return this.#command(frame, data.length);
    return undefined;
  }

  /** A command: judged against the token, then admitted or refused. */
  #command(frame: Extract<ClientFrame, { kind: 'command' }>, bytes: number): Promise<void> | undefined {
    const { id, verb, command } = frame;
    if (this.#calls.has(id))
      return this.#refuse(id, new InvalidMessageFormat(`Id ${JSON.stringify(id)} is already in flight`), 'id');
    if (!this.#options.allow.has(verb))
      return this.#refuse(id, new VerbNotAllowed(`Verb '${verb}' is not allowed on this bridge`), 'verb');
    const verdict = this.#options.gate.authorize(this.#principal, command);
    if (verdict === undefined) return this.#admit(frame, bytes);
    if (!(verdict instanceof Promise)) return this.#refuse(id, verdict, 'forbidden');
    return verdict.then(
      (refused) => {
        if (this.#closed) return;
        if (refused) this.#refuse(id, refused, 'forbidden');
        else this.#admit(frame, bytes);
      },
      (error: unknown) => this.#refuse(id, error instanceof Error ? error : new Error(String(error))),
    );
  }

  /** A command its token allows: it waits for a slot, then goes to the server. */
  #admit(frame: Extract<ClientFrame, { kind: 'command' }>, bytes: number): undefined {
    const { id, verb, command } = frame;
    const streaming = isStreamingVerb(verb);
    if (streaming && this.#idle) return void this.#send(reconnectFrame(id));
    if (streaming && this.#streams >= this.#options.maxStreams) {
      return this.#refuse(
        id,
        new TooManyStreams(`This connection already has ${this.#options.maxStreams} streams open`),
        'streams',
      );
    }
    const call: Call = {
      id,
      command,
      streaming,
      bytes,
      state: 'waiting',
      holdsSlot: false,
      credit: streaming ? (frame.credit ?? Infinity) : Infinity,
      paused: false,
    };
    this.#calls.set(id, call);
    if (streaming) this.#streams++;
    this.#waiting.push(call);
    this.#waitingCount++;
    this.#waitingBytes += call.bytes;
    this.#pump();
    return undefined;
  }

  /**
   * A fresh token for this WebSocket (`auth`): of the same subject; its grants replace the old
   * token's, and a stream they no longer cover ends with `Forbidden(…)`. A token refused leaves the
   * old one in force.
   */
  async #auth(id: FrameId, token: string): Promise<void> {
    let principal: Principal;
    try {
      principal = await this.#options.gate.principal(token);
    } catch (error) {
      if (!(error instanceof TokenRefused)) throw error;
      return this.#refuse(id, new BridgeRefused(error.message, 401), 'token');
    }
    if (this.#closed) return;
    const old = this.#principal;
    const subject = (p: Principal) => (p.kind === 'shared' ? undefined : p.sub);
    if (principal.kind !== old.kind || subject(principal) !== subject(old))
      return this.#refuse(id, new Forbidden(`${AUTH_VERB}: a fresh token must be of the same subject`), 'forbidden');
    this.#principal = principal;
    this.#armExpiry();
    for (const call of [...this.#calls.values()]) {
      if (!call.streaming) continue;
      let refused = this.#options.gate.authorize(principal, call.command);
      if (refused instanceof Promise) refused = await refused;
      if (refused && this.#calls.get(call.id) === call) {
        this.#cancel(call.id);
        this.#refuse(call.id, refused, 'forbidden');
      }
    }
    this.#send(okFrame(id, AUTH_VERB));
  }

  /** Closes the WebSocket (4401) when its signed token expires, unless a fresh one comes first. */
  #armExpiry(): void {
    this.#cancelExpiry?.();
    const principal = this.#principal;
    if (principal.kind === 'shared') return;
    this.#cancelExpiry = timerAt(principal.expiresAt, () => this.#ws.close(TOKEN_EXPIRED_CLOSE, 'token expired'), true);
  }

  /** Starts waiting calls while this WebSocket and the bridge have slots for them. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#closed && !this.#asking && this.#waitingCount > 0 && this.#running < this.#options.maxInFlight) {
        this.#asking = true;
        // Granted at once (then #onSlot has run) or later, when another call gives its slot back.
        this.#options.inFlight.acquire(this.#onSlot);
      }
    } finally {
      this.#pumping = false;
    }
  }

  readonly #onSlot = (): void => {
    this.#asking = false;
    const call = this.#closed ? undefined : this.#nextWaiting();
    if (!call) return this.#options.inFlight.release();
    call.holdsSlot = true;
    this.#running++;
    this.#start(call);
    this.#pump();
    this.#updateFlow();
  };

  #nextWaiting(): Call | undefined {
    for (let call = this.#waiting.take(); call !== undefined; call = this.#waiting.take()) {
      if (call.state !== 'waiting') continue;
      this.#waitingCount--;
      this.#waitingBytes -= call.bytes;
      return call;
    }
    return undefined;
  }

  #start(call: Call): void {
    const { id, streaming } = call;
    call.state = 'running';
    if (streaming) call.prefix = dataFramePrefixBytes(id);
    // The bridge's hop, measured only while metrics are on.
    const since = metrics === undefined || streaming ? undefined : performance.now();
    try {
      call.backend = this.#options.backend.send(
        call.command,
        streaming,
        {
          // A stream holds its slot only while its command goes out; then it is capped by maxStreams.
          written: () => {
            if (!streaming) return;
            this.#release(call);
            this.#pump();
          },
          reply: (text) => {
            if (since !== undefined) metrics?.latency('bridge', since);
            this.#options.gate.learn(call.command, text);
            this.#finish(call, okFrame(id, text));
          },
          lines: (batch) => this.#sendLines(call, batch),
          end: () => this.#finish(call, endFrame(id)),
          error: (text) => {
            if (since !== undefined) metrics?.latency('bridge', since);
            this.#finish(call, errorFrame(id, text));
          },
        },
        this.#lane,
      );
    } catch (error) {
      this.#options.logger.error(`bridge: command ${JSON.stringify(id)} failed: ${(error as Error).message}`);
      return this.#finish(call, errorFrame(id, formatError(error)));
    }
    if (streaming) this.#applyFlow(call);
  }

  /** The call's last frame; a stream's waits behind the lines it holds back. */
  #finish(call: Call, frame: string): void {
    if (call.state === 'done') return;
    if (call.held) {
      call.last = frame;
      return;
    }
    this.#settle(call);
    this.#send(frame);
  }

  #settle(call: Call): void {
    call.state = 'done';
    if (this.#calls.get(call.id) === call) this.#calls.delete(call.id);
    if (call.streaming) this.#streams--;
    this.#release(call);
    this.#pump();
    this.#checkIdle();
  }

  #release(call: Call): void {
    if (!call.holdsSlot) return;
    call.holdsSlot = false;
    this.#running--;
    this.#options.inFlight.release();
  }

  #cancel(id: FrameId): void {
    const call = this.#calls.get(id);
    // A cancel of a finished (or unknown) stream is not an error: its end may have crossed the cancel.
    if (!call?.streaming) return;
    this.#drop(call);
  }

  /** Ends a stream here: its Unix connection closes, and the server is told it has gone. */
  #drop(call: Call): void {
    this.#calls.delete(call.id);
    this.#streams--;
    if (call.state === 'waiting') {
      this.#waitingCount--;
      this.#waitingBytes -= call.bytes;
      // Only cancelled calls left: drop them now rather than when a slot comes.
      if (this.#waitingCount === 0) while (this.#waiting.take() !== undefined);
    }
    call.state = 'done';
    const key = call.backend?.cancel();
    this.#release(call);
    if (key !== undefined) removeStreams(this.#options.socketPath, [key], this.#options.inFlight);
    this.#pump();
    this.#checkIdle();
  }

  #credit(id: FrameId, credit: number): void {
    const call = this.#calls.get(id);
    // Credit for a stream that has ended may cross its end frame: not an error either.
    if (!call?.streaming) return;
    call.credit += credit;
    if (call.held) this.#sendHeld(call);
    this.#applyFlow(call);
  }

  /** Replies `error` under `id`; a refusal (`reason`) is counted in the metrics too. */
  /**
   * Holds this turn's writes to the client and sends them together once it is over: the replies to
   * many commands come back in one read of the session and go out in one write, not one each.
   */
  #coalesce(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.#tcp.cork();
    process.nextTick(() => {
      this.#corked = false;
      this.#tcp.uncork();
    });
  }

  #refuse(id: FrameId | null, error: Error, reason?: string): undefined {
    if (reason !== undefined) metrics?.refusal(reason);
    this.#send(errorFrame(id, formatException(error)));
    return undefined;
  }

  #send(frame: string | Buffer): void {
    if (this.#ws.readyState !== OPEN) return;
    this.#coalesce();
    this.#ws.send(frame, { binary: false });
    if (this.#tcp.writableLength > HIGH_WATER) this.#updateFlow();
  }

  /**
   * A chunk's worth of events as one write of ready-made frames, straight to the WebSocket's
   * TCP socket: `ws` sends each frame as two writes, which costs more than the relaying itself.
   * Safe because `ws` (without compression) writes whole frames synchronously, so frames never
   * interleave; nothing is written once the WebSocket is closing. Only as many as the stream's
   * credit allows go out; the rest are held back and the stream's Unix connection is paused. Once
   * the socket backs up, the Unix streams stop being read, which stops the server taking messages
   * from the queues.
   */
  #sendLines(call: Call, batch: LineBatch): void {
    if (this.#ws.readyState !== OPEN) return;
    const count = batch.starts.length;
    if (count <= call.credit) {
      this.#write(encodeDataFrames(call.prefix!, batch), count);
      call.credit -= count;
    } else {
      const room = call.credit;
      if (room > 0) this.#write(encodeDataFrames(call.prefix!, batch, 0, room), room);
      // The batch's arrays are reused by the next read: keep copies (the bytes are the socket's own chunks).
      call.held = {
        sources: batch.sources.slice(room),
        starts: batch.starts.slice(room),
        ends: batch.ends.slice(room),
      };
      call.credit = 0;
    }
    if (!this.#streamsPaused && this.#tcp.writableLength > HIGH_WATER) this.#updateFlow();
    else if (call.credit <= 0) this.#applyFlow(call);
  }

  /** `events` data frames, ready-made, straight to the TCP socket. */
  #write(frames: Buffer, events: number): void {
    this.#coalesce();
    this.#tcp.write(frames);
    metrics?.relayed('websocket', events, frames.length);
  }

  /** Sends what the stream held back, as far as its credit now goes; then the frame that ended it, if any. */
  #sendHeld(call: Call): void {
    const held = call.held!;
    const count = held.starts.length;
    const n = Math.min(count, call.credit);
    if (n > 0 && this.#ws.readyState === OPEN) this.#write(encodeDataFrames(call.prefix!, held, 0, n), n);
    call.credit -= n;
    if (n < count) {
      held.sources.splice(0, n);
      held.starts.splice(0, n);
      held.ends.splice(0, n);
      return;
    }
    call.held = undefined;
    const last = call.last;
    if (last === undefined) return;
    call.last = undefined;
    this.#settle(call);
    this.#send(last);
  }

  /** Pauses or resumes one stream's Unix connection: paused while the WebSocket is backed up or its credit is spent. */
  #applyFlow(call: Call): void {
    if (call.state !== 'running' || !call.backend) return;
    const pause = this.#streamsPaused || call.credit <= 0 || call.held !== undefined;
    if (pause === call.paused) return;
    call.paused = pause;
    if (pause) call.backend.pause();
    else call.backend.resume();
  }

  /**
   * Backpressure, both ways: while more than {@link HIGH_WATER} bytes wait to go out on the
   * WebSocket, the Unix streams are not read; while that holds, or this WebSocket has a full
   * queue of commands waiting for a slot, its frames are not read either.
   */
  #updateFlow(): void {
    if (this.#closed) return;
    const full = this.#tcp.writableLength > HIGH_WATER;
    if (full !== this.#streamsPaused) {
      this.#streamsPaused = full;
      if (full) metrics?.paused();
      for (const call of this.#calls.values()) if (call.streaming) this.#applyFlow(call);
    }
    // The queue's length counts cancelled calls not yet skipped too: they hold memory as well.
    const backlog =
      full ||
      this.#waiting.length >= this.#options.maxInFlight ||
      this.#chained >= this.#options.maxInFlight ||
      this.#waitingBytes >= HIGH_WATER;
    if (backlog === this.#readingPaused) return;
    this.#readingPaused = backlog;
    if (backlog) this.#ws.pause();
    else this.#ws.resume();
  }
}
