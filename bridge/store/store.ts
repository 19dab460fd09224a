/**
 * The seam between the socket server and where channels live. The server only ever runs the
 * protocol's verbs against a {@link ChannelStore} and pumps an {@link EventFeed} into a socket;
 * a store in memory answers at once (plain values), a store over the network with promises.
 */
import type { Message } from '../../src/index.js';

/**
 * Events each listener keeps for resuming its stream, by default
 * (docs/protocol.md, "Event ids, histories and resume").
 */
export const DEFAULT_HISTORY = 1000;
/**
 * Besides its last `history` events, each listener keeps those whose lines make up its newest
 * 1 MiB delivered. A stream's events are delivered once written to its socket, and a consumer
 * that leaves (`break`) leaves behind what was still on its way: at most its stream window in
 * events (the client's credit, 256 by default: fewer than `history`), plus what the buffers
 * between the server and the bridge hold, which are bounded in bytes (the kernel's socket buffer,
 * about 208 KiB on Linux, and the bridge's read of at most 64 KiB and its stream's buffer). So
 * whatever a consumer left behind is retained by construction, whatever the size of its events,
 * and a resume after `break` replays it (docs/socket-server.md, "Event ids and resume").
 */
export const DEFAULT_HISTORY_BYTES = 1024 * 1024;
/** How long a watch's listener outlives its stream, by default (ms). */
export const DEFAULT_WATCH_GRACE_MS = 60_000;
/** The longest grace period: what a timer can wait (about 24.8 days). */
export const MAX_WATCH_GRACE_MS = 2 ** 31 - 1;
/** Channels a server holds at most, by default. */
export const DEFAULT_MAX_CHANNELS = 10_000;
/** Listeners a server's channels hold at most, in all, by default. */
export const DEFAULT_MAX_LISTENERS = 100_000;

/**
 * Checks the settings every store shares, so that a bad one stops the server at start rather than
 * at a listener's first stream: throws a RangeError naming it.
 */
export function checkStoreSettings(history: number, watchGraceMs: number, historyBytes = 0): void {
  if (!Number.isSafeInteger(history) || history < 0)
    throw new RangeError(`history is a number of events (0 or more), not ${history}`);
  if (!Number.isSafeInteger(historyBytes) || historyBytes < 0)
    throw new RangeError(`historyBytes is a number of bytes (0 or more), not ${historyBytes}`);
  if (!(watchGraceMs >= 0 && watchGraceMs <= MAX_WATCH_GRACE_MS))
    throw new RangeError(`watchGraceMs is a duration in ms from 0 to ${MAX_WATCH_GRACE_MS}, not ${watchGraceMs}`);
}

/** A store's kind and whether it can serve commands now. */
export interface StoreStatus {
  kind: 'memory' | 'redis' | (string & {});
  ok: boolean;
}

/** A value now, or later: in-memory stores answer synchronously, network stores asynchronously. */
export type Awaitable<T> = T | Promise<T>;

/**
 * How a stream ended (`cancelled`: its client said it has gone, with `rs`; `limit`: it wrote the
 * events its command's `n` asked for).
 */
export type StreamEnd = 'stopped' | 'closed' | 'client-gone' | 'failed' | 'superseded' | 'cancelled' | 'limit';

/** Options of a stream (`l` or `w`). */
export interface FeedOptions {
  /** Resume after this event id (the command's `i`; docs/protocol.md, "Event ids, histories and resume"). */
  lastEventId?: string;
}

/** What the pump writes next: event lines, or the end of the stream (after a last line, if any). */
export type FeedStep =
  | { readonly lines: string; readonly end?: undefined }
  | {
      readonly lines?: string;
      readonly end: StreamEnd;
      /** With `failed`: what went wrong, for the server's log (the line already says it to the client). */
      readonly error?: unknown;
    };

/**
 * One open stream of a listener, read by the socket pump. The pump asks for lines only when
 * the socket has room, writes them, then says whether they reached the socket: a store takes
 * a message off its queue for good only once its line was written.
 */
export interface EventFeed {
  /** The listener streamed (for `w`, the one the watch added). */
  readonly listenerId: string;
  /** Pause between two events in ms (0: none); a paced feed is asked for one event at a time. */
  readonly delayMs: number;
  /** Aborts, with the {@link StreamEnd} as reason, when the stream must end on its own (e.g. superseded). */
  readonly interrupted: AbortSignal;
  /**
   * The next lines, about `room` characters at most but at least one event, and never more than
   * `max` events (lines), taking no more than that off the queue; a promise while nothing waits
   * (resolved when something does, without polling).
   * docs/protocol.md, "Bounded streams: n"
   */
  next(room: number, max?: number): Awaitable<FeedStep>;
  /** The lines of the last step were written to the socket: their messages count as delivered. */
  written(): void;
  /** The lines of the last step could not be written: their messages stay queued. */
  unwritten(): void;
  /**
   * Resolves once every delivery {@link written} reported counts in the store, where the next stream
   * of the listener reads it: a stream that ended after its `n` events has its client start the next
   * one at once, which must begin after them. Not needed by a store that records deliveries at once.
   */
  settled?(): Promise<void>;
  /** Releases the feed (a pending `next` is abandoned). Called once, whenever the stream ends. */
  close(): void;
}

/**
 * Channels, listeners and their queues, behind the socket protocol's verbs
 * (docs/protocol.md, "The socket protocol"). Errors are the library's typed errors
 * (`InvalidChannelException`, …), which the server replies as they are.
 */
export interface ChannelStore {
  /**
   * `c`: creates a channel; its id. `owner`, the subject of the signed token it was created under,
   * is kept with it for as long as it lives (docs/security.md, "Scoped tokens").
   */
  createChannel(owner?: string): Awaitable<string>;
  /** `own`: the owner a channel was created with, `''` for none; `InvalidChannelException` when it is gone. */
  ownerOf(channelId: string): Awaitable<string>;
  /** `r`: adds a listener to a channel; its id. */
  addListener(channelId: string): Awaitable<string>;
  /** `d`: queues a message for one listener. */
  dispatch(channelId: string, listenerId: string, msg: Message): Awaitable<void>;
  /** `b`: queues a message for every listener of a channel. */
  broadcast(channelId: string, msg: Message): Awaitable<void>;
  /** `rl`: removes a listener; its open stream yields one closed event and ends. */
  removeListener(channelId: string, listenerId: string): Awaitable<void>;
  /** `rc`: removes a channel and its listeners. */
  removeChannel(channelId: string): Awaitable<void>;
  /** `l`: starts a listener and opens its stream; an older stream of the same listener ends (`superseded`). */
  listen(channelId: string, listenerId: string, options?: FeedOptions): Awaitable<EventFeed>;
  /**
   * `w`: adds a started listener to a channel and opens its stream; with `lastEventId`, resumes the
   * watch whose stream carried that id (a new watch, starting with a gap, when it is gone). A
   * watch's listener outlives its stream for a grace period, then goes.
   */
  watch(channelId: string, options?: FeedOptions): Awaitable<EventFeed>;
  /** Ends every open feed and lets go of what the store holds (connections). */
  close(): Promise<void>;
  /** What kind of store it is and whether it can serve commands now (a `hello` says so). */
  status?(): StoreStatus;
  /**
   * Messages waiting in the queues, for the metrics: in memory, one pass at the scrape; on Redis, one
   * GET of a count its scripts keep (undefined while it cannot say).
   */
  waiting?(): number | undefined | Promise<number | undefined>;
}
