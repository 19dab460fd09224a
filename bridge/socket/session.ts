/**
 * One session on the socket server (docs/protocol.md, "Sessions"): after `{"v": "session"}`, each
 * line from the client is one frame in the bridge's client format (a command with its `id`,
 * `cancel`, `credit`) and each line back one reply frame under that id, in any order. Commands run
 * side by side up to a cap, past which the session is not read (backpressure, never a refusal);
 * streams run under credit, so a slow one never holds up the rest; a client that does not read
 * its replies is not read either. Closing the session ends its streams as `rs` does.
 */
import type { Socket } from 'node:net';
import { InvalidMessageFormat } from '../../src/errors.js';
import {
  DATA_FRAME_END,
  dataFramePrefix,
  endFrame,
  errorFrame,
  type FrameId,
  frameText,
  okFrame,
  parseClientFrame,
} from '../../src/wire/bridge-frames.js';
import {
  commandFrom,
  formatError,
  type ListenCommand,
  type ServerCommand,
  type WatchCommand,
} from '../../src/wire/socket-protocol.js';
import type { ServerLogger } from '../log.js';
import type { EventFeed, FeedStep, StreamEnd } from '../store/store.js';

/** What a session needs from its server. */
export interface SessionHost {
  /** Runs a verb that replies once (`c r d b rl rc rs`): its reply, or a typed error for the client. */
  execute(command: ServerCommand): Promise<string>;
  /** Opens the feed of an `l` or `w`. */
  open(command: ListenCommand | WatchCommand): Promise<EventFeed>;
  /** Told how each stream ended, for the log. */
  ended(feed: EventFeed, end: StreamEnd): void;
  readonly logger: ServerLogger;
}

/** Limits of a session. */
export interface SessionLimits {
  /** The longest line, in bytes (the one-shot command limit, per line). */
  maxBytes: number;
  /** How long a session with nothing in flight stays open, in ms. */
  idleMs: number;
}

/** Commands a session runs at once; past it the session is not read until one finishes. */
export const SESSION_MAX_IN_FLIGHT = 256;
/** A stream's window when its frame names none: the `data` frames it may send before more credit. */
export const SESSION_DEFAULT_WINDOW = 256;
/** Bytes waiting to go out above which the session's streams and reading pause. */
const HIGH_WATER = 1 << 20;
const NEWLINE = 0x0a;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class ServerSession {
  readonly #socket: Socket;
  readonly #host: SessionHost;
  readonly #limits: SessionLimits;
  /** Ids in flight: commands waiting for their reply and open streams. */
  readonly #ids = new Set<FrameId>();
  readonly #streams = new Map<FrameId, SessionStream>();
  /** Streams whose feed is opening, and whether they were cancelled meanwhile (then each ends as it opens). */
  readonly #opening = new Map<FrameId, boolean>();
  #running = 0;
  /**
   * The rest of a chunk read when the cap of commands in flight was reached: taken up, before the
   * socket is read again, once a command finishes (a chunk holds a thousand small commands).
   */
  #held: Buffer | undefined;
  /** The start of a line not ended yet; `#dropping` once it has grown past the limit. */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  #dropping = false;
  /** Reply frames waiting for the next write (several replies go out in one write). */
  #out: string[] = [];
  #flushing = false;
  #readingPaused = false;
  #closed = false;
  #idle: NodeJS.Timeout | undefined;
  /** Resolves when the session has closed. */
  readonly closed: Promise<void>;

  constructor(socket: Socket, host: SessionHost, limits: SessionLimits, rest: Buffer) {
    this.#socket = socket;
    this.#host = host;
    this.#limits = limits;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.once('close', () => this.#close());
    socket.on('drain', () => this.#updateFlow());
    // The client's end of file ends the session once its replies are out.
    socket.once('end', () => this.#endWhenDone());
    socket.on('data', (chunk: Buffer) => {
      // Read after the pause (it was on its way): behind what is held, in order.
      if (this.#held !== undefined) this.#held = Buffer.concat([this.#held, chunk]);
      else this.#onData(chunk);
    });
    this.#send(frameText(null, { ok: 'session' }));
    if (rest.length > 0) this.#onData(rest);
    this.#updateFlow();
    socket.resume();
  }

  get streams(): number {
    return this.#streams.size;
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    let start = 0;
    for (let newline = chunk.indexOf(NEWLINE); newline >= 0; newline = chunk.indexOf(NEWLINE, start)) {
      if (this.#running >= SESSION_MAX_IN_FLIGHT) {
        this.#held = chunk.subarray(start);
        return this.#updateFlow();
      }
      const piece = chunk.subarray(start, newline);
      start = newline + 1;
      if (this.#partialBytes + piece.length > this.#limits.maxBytes || this.#dropping) {
        this.#dropLine();
        continue;
      }
      const line = this.#partial.length === 0 ? piece : Buffer.concat([...this.#partial, piece]);
      this.#partial = [];
      this.#partialBytes = 0;
      this.#onLine(line);
    }
    if (start < chunk.length) {
      const piece = chunk.subarray(start);
      this.#partialBytes += piece.length;
      if (this.#partialBytes > this.#limits.maxBytes) {
        // Too long already: dropped as it comes, up to its newline, then refused.
        this.#partial = [];
        this.#dropping = true;
      } else this.#partial.push(piece);
    }
    this.#updateFlow();
  }

  #dropLine(): void {
    this.#partial = [];
    this.#partialBytes = 0;
    this.#dropping = false;
    this.#send(
      errorFrame(
        null,
        formatError(new InvalidMessageFormat(`Frame exceeds the limit of ${this.#limits.maxBytes} bytes`)),
      ),
    );
  }

  #onLine(bytes: Buffer): void {
    if (bytes.length === 0 || (bytes.length === 1 && bytes[0] === 0x0d)) return;
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return this.#send(errorFrame(null, formatError(new InvalidMessageFormat('Frame is not valid UTF-8'))));
    }
    const frame = parseClientFrame(text);
    if (frame.kind === 'invalid') return this.#send(errorFrame(frame.id, frame.error));
    if (frame.kind === 'cancel') return this.#cancel(frame.id);
    if (frame.kind === 'credit') return this.#streams.get(frame.id)?.grant(frame.credit);
    if (frame.kind === 'auth') {
      const error = new InvalidMessageFormat("Verb 'auth' is the bridge's: a socket server takes no tokens");
      return this.#send(errorFrame(frame.id, formatError(error)));
    }
    const { id } = frame;
    if (this.#ids.has(id))
      return this.#send(
        errorFrame(id, formatError(new InvalidMessageFormat(`Id ${JSON.stringify(id)} is already in flight`))),
      );
    let command: ServerCommand;
    try {
      command = commandFrom(frame.command);
    } catch (error) {
      return this.#send(errorFrame(id, formatError(error)));
    }
    this.#ids.add(id);
    this.#running++;
    this.#stopIdle();
    if (command.v === 'l' || command.v === 'w') this.#openStream(id, command, frame.credit);
    else
      this.#host.execute(command).then(
        (reply) => this.#settle(id, okFrame(id, reply)),
        (error: unknown) => this.#settle(id, errorFrame(id, formatError(error))),
      );
  }

  /**
   * Stops the stream with that id; one whose feed is still opening (a client that cancels at once)
   * ends as soon as it is open, so it takes nothing off its queue.
   */
  #cancel(id: FrameId): void {
    const stream = this.#streams.get(id);
    if (stream) return stream.finish('cancelled');
    if (this.#opening.has(id)) this.#opening.set(id, true);
  }

  #openStream(id: FrameId, command: ListenCommand | WatchCommand, credit: number | undefined): void {
    this.#opening.set(id, false);
    this.#host.open(command).then(
      (feed) => {
        this.#running--;
        const cancelled = this.#opening.get(id);
        this.#opening.delete(id);
        if (this.#closed) {
          feed.close();
          return;
        }
        const stream = new SessionStream(this, id, feed, credit ?? SESSION_DEFAULT_WINDOW, command.n);
        this.#streams.set(id, stream);
        if (cancelled) stream.finish('cancelled');
        else stream.pump();
        this.#updateFlow();
      },
      (error: unknown) => {
        // A stream cancelled before it opened sends nothing more, its error neither.
        const cancelled = this.#opening.get(id);
        this.#opening.delete(id);
        this.#settle(id, cancelled ? undefined : errorFrame(id, formatError(error)));
      },
    );
  }

  /** A command's last frame (none for a stream cancelled before it opened): its id is free again. */
  #settle(id: FrameId, frame: string | undefined): void {
    this.#running--;
    this.#ids.delete(id);
    if (frame !== undefined) this.#send(frame);
    this.#updateFlow();
    this.#startIdle();
  }

  /** A stream ended: its last frame (none when cancelled), and its id is free again. */
  streamEnded(stream: SessionStream, end: StreamEnd, frame: string | undefined): void {
    this.#streams.delete(stream.id);
    this.#ids.delete(stream.id);
    this.#host.ended(stream.feed, end);
    if (frame !== undefined) this.#send(frame);
    this.#updateFlow();
    this.#startIdle();
  }

  /** Queues a frame; the frames queued in one turn of the event loop go out in one write. */
  #send(frame: string): void {
    if (this.#closed) return;
    this.#out.push(frame);
    if (this.#flushing) return;
    this.#flushing = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushing = false;
    if (this.#closed || this.#out.length === 0) return;
    const text = `${this.#out.join('\n')}\n`;
    this.#out = [];
    this.#socket.write(text);
    this.#updateFlow();
    if (this.#ending) this.#endWhenDone();
  }

  /** Writes a stream's frames now (they are ready-made); false once the client has gone. */
  writeFrames(frames: string): boolean {
    if (this.#closed || this.#socket.destroyed || !this.#socket.writable) return false;
    // Replies queued before these go first, so a stream's frames never overtake its own order.
    if (this.#out.length > 0) this.#flush();
    this.#socket.write(frames);
    return !(this.#socket.errored || this.#socket.destroyed);
  }

  /** A fault of a stream's feed, for the server's log (the client gets an error frame). */
  report(feed: EventFeed, error: unknown): void {
    this.#host.logger.error(
      `stream of listener ${feed.listenerId}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }

  /** Whether streams should hold back: the client is not reading what is already on its way. */
  get backedUp(): boolean {
    return this.#socket.writableLength > HIGH_WATER;
  }

  /** Room for a stream's next lines, in characters. */
  get room(): number {
    return Math.max(1, this.#socket.writableHighWaterMark - this.#socket.writableLength);
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Backpressure both ways: while the client does not read, its streams wait and its frames are not
   * read; while the cap of commands in flight is reached, its frames are not read either.
   */
  #updateFlow(): void {
    if (this.#closed) return;
    const backedUp = this.backedUp;
    if (!backedUp) for (const stream of this.#streams.values()) stream.wake();
    const room = !backedUp && this.#running < SESSION_MAX_IN_FLIGHT;
    if (room && this.#held !== undefined) {
      const held = this.#held;
      this.#held = undefined;
      return this.#onData(held);
    }
    const pause = !room || this.#held !== undefined;
    if (pause === this.#readingPaused) return;
    this.#readingPaused = pause;
    if (pause) this.#socket.pause();
    else this.#socket.resume();
  }

  #ending = false;

  /** After the client's end of file: closes once nothing is in flight and the replies are out. */
  #endWhenDone(): void {
    this.#ending = true;
    if (this.#closed || this.#running > 0 || this.#out.length > 0 || this.#held !== undefined) return;
    for (const stream of this.#streams.values()) stream.finish('client-gone');
    this.#socket.end();
  }

  #startIdle(): void {
    if (this.#ending) return this.#endWhenDone();
    if (this.#closed || this.#ids.size > 0 || this.#idle) return;
    this.#idle = setTimeout(() => {
      this.#host.logger.info(`session idle for ${this.#limits.idleMs} ms: closed`);
      this.#socket.end();
    }, this.#limits.idleMs);
    this.#idle.unref();
  }

  #stopIdle(): void {
    if (this.#idle === undefined) return;
    clearTimeout(this.#idle);
    this.#idle = undefined;
  }

  /** The connection has gone: every stream ends as after `rs`, and the rest is dropped. */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopIdle();
    for (const stream of [...this.#streams.values()]) stream.finish('cancelled');
    this.#out = [];
  }

  /** Starts the idle timer once the opening reply is out (nothing is in flight yet). */
  start(): void {
    this.#startIdle();
  }
}

/** One stream of a session: its feed pumped as `data` frames while it has credit and the session has room. */
class SessionStream {
  readonly id: FrameId;
  readonly feed: EventFeed;
  readonly #session: ServerSession;
  readonly #prefix: string;
  readonly #end: string;
  #credit: number;
  /** Events the command's `n` still allows (Infinity without one). */
  #left: number;
  #busy = false;
  #done = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #onInterrupted = () => this.finish(this.feed.interrupted.reason as StreamEnd);

  constructor(session: ServerSession, id: FrameId, feed: EventFeed, credit: number, limit: number | undefined) {
    this.#session = session;
    this.id = id;
    this.feed = feed;
    this.#credit = credit;
    this.#left = limit ?? Infinity;
    this.#prefix = dataFramePrefix(id);
    this.#end = `${DATA_FRAME_END}\n`;
    if (feed.interrupted.aborted) queueMicrotask(this.#onInterrupted);
    else feed.interrupted.addEventListener('abort', this.#onInterrupted, { once: true });
  }

  grant(credit: number): void {
    this.#credit += credit;
    this.wake();
  }

  /** Pumps again if it was waiting for credit or room. */
  wake(): void {
    if (!this.#busy && this.#timer === undefined) this.pump();
  }

  pump(): void {
    if (this.#done || this.#busy) return;
    const session = this.#session;
    // At its `n`, a stream waits for the store to settle and asks for nothing more: woken meanwhile
    // (any frame of the session wakes its streams), a read for 0 events would read without a bound.
    if (this.#credit <= 0 || this.#left <= 0 || session.backedUp) return;
    this.#busy = true;
    const delayMs = this.feed.delayMs;
    let step: FeedStep | Promise<FeedStep>;
    try {
      step = this.feed.next(delayMs > 0 ? 0 : session.room, Math.min(this.#credit, this.#left));
    } catch (error) {
      this.#busy = false;
      return this.#fail(error);
    }
    if (step instanceof Promise)
      step.then(
        (s) => this.#write(s),
        (error: unknown) => {
          this.#busy = false;
          this.#fail(error);
        },
      );
    else this.#write(step);
  }

  #write(step: FeedStep): void {
    // Still busy while writing: a write may wake the session's streams, this one included, and the
    // feed must hear `written` before it is asked again.
    if (this.#done) return void (this.#busy = false);
    if (step.lines) {
      const { frames, count } = this.#frames(step.lines);
      if (!this.#session.writeFrames(frames)) {
        this.#busy = false;
        this.feed.unwritten();
        return this.finish('client-gone');
      }
      this.feed.written();
      this.#credit -= count;
      this.#left -= count;
    }
    this.#busy = false;
    if (step.end !== undefined) {
      if (step.error !== undefined) this.#session.report(this.feed, step.error);
      // A failed feed's error reply follows its last line (unframed above): the client gets it as
      // an error frame, as a one-shot client gets it as the reply.
      if (step.end === 'failed') return this.finish('failed', errorFrame(this.id, formatError(step.error)));
      return this.finish(step.end);
    }
    if (this.#left <= 0) return this.#atLimit();
    const delayMs = this.feed.delayMs;
    if (delayMs > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.pump();
      }, delayMs);
      return;
    }
    // Other streams and commands of the session, and other connections, get their turn.
    this.#busy = true;
    setImmediate(() => {
      this.#busy = false;
      this.pump();
    });
  }

  /** The events the command's `n` asked for are out: the stream ends once the store has them as delivered. */
  #atLimit(): void {
    const settled = this.feed.settled?.();
    if (!settled) return this.finish('limit');
    settled.then(
      () => this.finish('limit'),
      () => this.finish('limit'),
    );
  }

  /** Each event line as a `data` frame: the line is the event's JSON object, as the store wrote it. */
  #frames(lines: string): { frames: string; count: number } {
    let frames = '';
    let count = 0;
    let start = 0;
    for (let newline = lines.indexOf('\n'); newline >= 0; newline = lines.indexOf('\n', start)) {
      frames += this.#prefix + lines.slice(start, newline) + this.#end;
      start = newline + 1;
      count++;
    }
    return { frames, count };
  }

  #fail(error: unknown): void {
    if (this.#done) return;
    this.#session.report(this.feed, error);
    this.finish('failed', errorFrame(this.id, formatError(error)));
  }

  /** Ends the stream: `cancelled` sends nothing more, anything else an `end` frame (or `frame`). */
  finish(end: StreamEnd, frame?: string): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.feed.interrupted.removeEventListener('abort', this.#onInterrupted);
    this.feed.close();
    const last = end === 'cancelled' || end === 'client-gone' ? undefined : (frame ?? endFrame(this.id));
    this.#session.streamEnded(this, end, last);
  }
}
