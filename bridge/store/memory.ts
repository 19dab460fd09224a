/** The default store: channels in this process's memory, in an {@link SSEChannelContainer}. */
import {
  type AbstractChannel,
  LimitExceeded,
  MESSAGE_TYPE_CLOSED,
  MESSAGE_TYPE_GAP,
  MESSAGE_TYPE_INTERNAL_ERROR,
  Message,
  type MessageQueueListener,
  type SSEChannel,
  SSEChannelContainer,
  type SSEEvent,
} from '../../src/index.js';
import { formatError, formatEvent } from '../../src/wire/socket-protocol.js';
import { metrics } from '../metrics/metrics.js';
import { lineOf, shareLine, unscheduleWrite, writeWhenWoken } from './fan-out.js';
import { EventHistory, listenerOfId } from './history.js';
import {
  type ChannelStore,
  checkStoreSettings,
  DEFAULT_HISTORY,
  DEFAULT_HISTORY_BYTES,
  DEFAULT_MAX_CHANNELS,
  DEFAULT_MAX_LISTENERS,
  DEFAULT_WATCH_GRACE_MS,
  type EventFeed,
  type FeedOptions,
  type FeedStep,
  type StoreStatus,
} from './store.js';

/** Options of a {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** The channels it serves (share one container with in-page code, say); a fresh container by default. */
  channels?: SSEChannelContainer;
  /** Delivered events each listener keeps, so a stream resumed with `i` replays them (default 1000; 0: none). */
  history?: number;
  /**
   * Besides those, each listener keeps the events of its newest `historyBytes` delivered, what a
   * consumer that leaves can leave in flight (default 1 MiB, see {@link DEFAULT_HISTORY_BYTES}; 0: none).
   */
  historyBytes?: number;
  /** How long a watch's listener outlives its stream, waiting for a resume, in ms (default 60 000; 0: none). */
  watchGraceMs?: number;
  /** Channels held at most (default 10 000); past it, `createChannel` throws `LimitExceeded`. */
  maxChannels?: number;
  /**
   * Listeners all channels hold at most, in all (default 100 000); past it, a new one removes the
   * watch longest in its grace period, or throws `LimitExceeded` when there is none.
   */
  maxListeners?: number;
}

/** A listener made by `w`, and the timer that removes it once its stream has been gone for the grace period. */
interface Watch {
  channel: SSEChannel;
  grace?: NodeJS.Timeout;
}

/**
 * Channels kept in memory: everything is synchronous, so commands answer without a promise
 * and a feed hands out what waits in the same tick.
 */
export class MemoryStore implements ChannelStore {
  /** In memory: always able to serve. */
  status(): StoreStatus {
    return { kind: 'memory', ok: true };
  }

  /** Messages waiting in every listener's queue (for the metrics, read when scraped: one pass over the listeners). */
  waiting(): number {
    let waiting = 0;
    for (const channel of this.channels)
      for (const listener of channel.listeners()) waiting += channel.queueLength(listener.id);
    return waiting;
  }

  /** The channels commands act on. */
  readonly channels: SSEChannelContainer;
  readonly #historyLimit: number;
  readonly #historyBytes: number;
  readonly #watchGraceMs: number;
  readonly #maxChannels: number;
  readonly #maxListeners: number;
  /** The feed serving each listener, so that a newer one can take over. */
  readonly #feeds = new Map<MessageQueueListener, MemoryFeed>();
  /** Each listener's history, made at its first stream and gone with the listener. */
  readonly #histories = new WeakMap<MessageQueueListener, EventHistory>();
  /** The listeners made by `w` that are still registered. */
  readonly #watches = new Map<MessageQueueListener, Watch>();
  /** The watches waiting out their grace period, oldest first: the first to give way at the listener limit. */
  readonly #graced = new Set<MessageQueueListener>();
  /** Channels' owners, by channel id (only those created with one). */
  readonly #owners = new Map<string, string>();
  #closed = false;

  constructor({
    channels = new SSEChannelContainer(),
    history = DEFAULT_HISTORY,
    historyBytes = DEFAULT_HISTORY_BYTES,
    watchGraceMs = DEFAULT_WATCH_GRACE_MS,
    maxChannels = DEFAULT_MAX_CHANNELS,
    maxListeners = DEFAULT_MAX_LISTENERS,
  }: MemoryStoreOptions = {}) {
    checkStoreSettings(history, watchGraceMs, historyBytes);
    this.channels = channels;
    this.#historyLimit = history;
    this.#historyBytes = historyBytes;
    this.#watchGraceMs = watchGraceMs;
    this.#maxChannels = maxChannels;
    this.#maxListeners = maxListeners;
  }

  createChannel(owner?: string): string {
    if (this.channels.size >= this.#maxChannels)
      throw new LimitExceeded(`Too many channels: this server holds at most ${this.#maxChannels}`);
    const id = this.channels.add().id;
    if (owner) this.#owners.set(id, owner);
    return id;
  }

  ownerOf(channelId: string): string {
    this.channels.get(channelId);
    return this.#owners.get(channelId) ?? '';
  }

  addListener(channelId: string): string {
    return this.#newListener(this.channels.get(channelId)).id;
  }

  dispatch(channelId: string, listenerId: string, msg: Message): void {
    this.channels.get(channelId).dispatch(listenerId, msg);
  }

  broadcast(channelId: string, msg: Message): void {
    const channel = this.channels.get(channelId);
    shareLine(channel, msg);
    channel.broadcast(msg);
  }

  removeListener(channelId: string, listenerId: string): void {
    this.channels.get(channelId).removeListener(listenerId);
  }

  removeChannel(channelId: string): void {
    this.channels.rm(channelId);
    this.#owners.delete(channelId);
  }

  listen(channelId: string, listenerId: string, { lastEventId }: FeedOptions = {}): EventFeed {
    const channel = this.channels.get(channelId);
    const listener = channel.getListener(listenerId);
    listener.startSync();
    return this.#open(channel, listener, lastEventId);
  }

  watch(channelId: string, { lastEventId }: FeedOptions = {}): EventFeed {
    const channel = this.channels.get(channelId);
    // A watch that is gone (or an id that names none) gives a new watch, whose stream starts with a gap.
    const listener =
      (lastEventId === undefined ? undefined : this.#watchOf(channel, lastEventId)) ?? this.#newListener(channel);
    const watch = this.#watches.get(listener) ?? { channel };
    this.#watches.set(listener, watch);
    clearTimeout(watch.grace);
    this.#graced.delete(listener);
    listener.startSync();
    return this.#open(channel, listener, lastEventId, (superseded) => {
      if (!superseded) this.#unwatched(listener, watch);
    });
  }

  /** Ends every open feed; nobody can resume a watch any more, so their listeners go now. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const feed of [...this.#feeds.values()]) feed.interrupt('stopped');
    for (const listener of [...this.#watches.keys()]) this.#dropWatch(listener);
  }

  #open(
    channel: SSEChannel,
    listener: MessageQueueListener,
    after: string | undefined,
    onClose?: (superseded: boolean) => void,
  ): EventFeed {
    // One stream per listener: a client that re-opens `l` after losing its connection must not
    // compete with its old stream, whose departure the server may not have noticed yet (an idle
    // Unix socket tells nothing until written to), or messages could arrive out of order.
    this.#feeds.get(listener)?.interrupt('superseded');
    const feed = new MemoryFeed(channel, listener, {
      history: this.#historyOf(listener),
      after,
      onClose: () => {
        const current = this.#feeds.get(listener) === feed;
        if (current) this.#feeds.delete(listener);
        onClose?.(!current);
      },
    });
    this.#feeds.set(listener, feed);
    return feed;
  }

  /**
   * A new listener of `channel`. At the limit, watches in their grace period make room first, the
   * one whose stream went first before the others: a client gone for good must not hold the budget
   * against live ones (the evicted watch's client, if it comes back, gets a new watch and a gap).
   * Only live listeners (and graced watches past what is needed) count against a refusal.
   */
  #newListener(channel: SSEChannel): MessageQueueListener {
    while (this.channels.listenerCount >= this.#maxListeners && this.#graced.size > 0)
      this.#dropWatch(this.#graced.values().next().value!);
    if (this.channels.listenerCount >= this.#maxListeners)
      throw new LimitExceeded(`Too many listeners: this server's channels hold at most ${this.#maxListeners} in all`);
    return channel.addListener();
  }

  #historyOf(listener: MessageQueueListener): EventHistory {
    let history = this.#histories.get(listener);
    if (!history)
      this.#histories.set(listener, (history = new EventHistory(listener.id, this.#historyLimit, this.#historyBytes)));
    return history;
  }

  /** The watch listener of `channel` whose stream carried event `id`, if it is still there. */
  #watchOf(channel: SSEChannel, id: string): MessageQueueListener | undefined {
    const listenerId = listenerOfId(id);
    if (listenerId === undefined) return undefined;
    let listener: MessageQueueListener;
    try {
      listener = channel.getListener(listenerId);
    } catch {
      return undefined; // removed: its grace period is over, or someone removed it
    }
    return this.#watches.get(listener)?.channel === channel ? listener : undefined;
  }

  /** A watch's stream ended with none taking over: its listener waits the grace period for a resume. */
  #unwatched(listener: MessageQueueListener, watch: Watch): void {
    if (this.#closed || this.#watchGraceMs === 0 || !watch.channel.hasListener(listener))
      return this.#dropWatch(listener);
    watch.grace = setTimeout(() => this.#dropWatch(listener), this.#watchGraceMs);
    this.#graced.add(listener);
    // A watch waiting for its client does not keep the process alive.
    watch.grace.unref();
  }

  #dropWatch(listener: MessageQueueListener): void {
    const watch = this.#watches.get(listener);
    if (!watch) return;
    clearTimeout(watch.grace);
    this.#graced.delete(listener);
    this.#watches.delete(listener);
    if (watch.channel.hasListener(listener)) watch.channel.removeListener(listener.id);
  }
}

/** Options of a {@link MemoryFeed}. */
export interface MemoryFeedOptions {
  /**
   * The listener's history: each line written carries its id and is recorded
   * (docs/protocol.md, "Event ids, histories and resume"). Without
   * one, lines are eric-sse's plain `{"event","retry","data"}`.
   */
  history?: EventHistory;
  /** With `history`: the id the client resumes after; the retained events after it are replayed first. */
  after?: string | undefined;
  /** Called once when the feed closes. */
  onClose?: () => void;
}

/**
 * A listener's stream over an in-memory channel: a resumed stream first replays from the history
 * (a `_eric_gap` event ahead when it does not reach back that far), then takes messages off the
 * queue, recording what was written and putting back what was not.
 */
export class MemoryFeed implements EventFeed {
  readonly delayMs: number;
  readonly listenerId: string;
  readonly #channel: AbstractChannel<SSEEvent>;
  readonly #listener: MessageQueueListener;
  readonly #history: EventHistory | undefined;
  readonly #control = new AbortController();
  readonly #onClose: (() => void) | undefined;
  #taken: Message[] = [];
  /** The lengths of the lines of `#taken`, for the history's byte window. */
  #takenSizes: number[] = [];
  #cancelWait: (() => void) | null = null;
  /** A wake-up scheduled by the fan-out (`writeWhenWoken`), not yet run. */
  #wake: (() => void) | null = null;
  /** When lines were last written (`performance.now()`), for the fan-out's coalescing. */
  #lastWrite = -Infinity;
  #closed = false;
  // The replay of a resumed stream: the gap line (if any), then deliveries `#replayed` … `#replayEnd`.
  #gapLine: string | undefined;
  #replayed = 1;
  #replayEnd = 0;

  constructor(
    channel: AbstractChannel<SSEEvent>,
    listener: MessageQueueListener,
    { history, after, onClose }: MemoryFeedOptions = {},
  ) {
    this.#channel = channel;
    this.#listener = listener;
    this.#history = history;
    this.#onClose = onClose;
    this.listenerId = listener.id;
    this.delayMs = channel.streamDelaySeconds * 1000;
    if (history && after !== undefined) {
      const start = history.resumeAfter(after);
      this.#replayed = start.from;
      this.#replayEnd = history.last;
      if (start.gap) {
        metrics?.gap();
        this.#gapLine = formatEvent(
          channel.adapt(new Message(MESSAGE_TYPE_GAP, { after })),
          history.idOf(start.from - 1),
        );
      }
    }
  }

  get interrupted(): AbortSignal {
    return this.#control.signal;
  }

  /** Ends the stream from outside, e.g. when a newer stream of the listener takes over. */
  interrupt(end: 'superseded' | 'stopped'): void {
    this.#control.abort(end);
  }

  next(room: number, max = Infinity): FeedStep | Promise<FeedStep> {
    const channel = this.#channel;
    const listener = this.#listener;
    const history = this.#history;
    const id = listener.id;
    if (!channel.hasListener(listener)) {
      listener.stopSync();
      const closed = formatEvent(channel.adapt(new Message(MESSAGE_TYPE_CLOSED)), history?.idOf(history.last + 1));
      return { lines: closed, end: 'closed' };
    }
    if (!listener.isRunningSync()) return { end: 'stopped' };
    if (this.#gapLine !== undefined || this.#replayed <= this.#replayEnd)
      return { lines: this.#replayChunk(room, max) };
    if (channel.queueLength(id) === 0) {
      return new Promise((resolve) => {
        const wake = () => {
          this.#wake = null;
          resolve(this.next(room, max));
        };
        this.#cancelWait = channel.whenMessageWaits(id, () => {
          this.#cancelWait = null;
          if (this.#closed) return;
          // Not in the middle of the command that brought the message; in a fan-out, with others.
          this.#wake = wake;
          writeWhenWoken(wake, this.#lastWrite);
        });
      });
    }
    // Take only as many messages as the socket has room for (at least one), and the stream asks for.
    const taken: Message[] = [];
    const sizes: number[] = [];
    this.#taken = taken;
    this.#takenSizes = sizes;
    const first = history?.last ?? 0;
    let lines = '';
    try {
      do {
        const msg = channel.deliverNext(id);
        const line = lineOrError(channel, msg, history?.idOf(first + taken.length + 1));
        lines += line;
        taken.push(msg);
        sizes.push(line.length);
      } while (lines.length < room && taken.length < max && channel.queueLength(id) > 0 && listener.isRunningSync());
    } catch (error) {
      // E.g. a listener's onMessage threw: what was taken before the failure still goes out.
      return { lines: lines + formatError(error), end: 'failed', error };
    }
    return { lines };
  }

  /** The next lines of a replay, as many as fit in `room` (at least one), `max` at most. */
  #replayChunk(room: number, max: number): string {
    const history = this.#history!;
    let chunk = '';
    let count = 0;
    if (this.#gapLine !== undefined) {
      chunk = this.#gapLine;
      this.#gapLine = undefined;
      count++;
    }
    while (this.#replayed <= this.#replayEnd && (chunk === '' || (chunk.length < room && count < max))) {
      const msg = history.at(this.#replayed);
      // Only this stream records deliveries of the listener, so what was retained stays retained.
      if (msg !== undefined) {
        chunk += lineOrError(this.#channel, msg, history.idOf(this.#replayed));
        count++;
      }
      this.#replayed++;
    }
    return chunk;
  }

  written(): void {
    this.#lastWrite = performance.now();
    if (this.#taken.length > 0) this.#history?.record(this.#taken, this.#takenSizes);
    this.#taken = [];
    this.#takenSizes = [];
  }

  unwritten(): void {
    if (this.#taken.length > 0) this.#channel.requeue(this.#listener.id, this.#taken);
    this.#taken = [];
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelWait?.();
    this.#cancelWait = null;
    if (this.#wake) unscheduleWrite(this.#wake);
    this.#wake = null;
    this.#onClose?.();
  }
}

/** eric-sse's default `retry`, for an error event when even the channel's adapter fails. */
const DEFAULT_RETRY_MS = 5;

/**
 * The line of `msg` on `channel`; for a message that has none (a payload `JSON.stringify` refuses,
 * an adapter that throws), one `_eric_error` event naming it in its place, so that one message
 * never ends a stream. (What comes through the socket protocol always has a line: a command
 * nesting too deep is refused at the door.)
 */
function lineOrError(channel: AbstractChannel<SSEEvent>, msg: Message, id: string | undefined): string {
  try {
    return lineOf(channel, msg, id);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    const failed = new Message(MESSAGE_TYPE_INTERNAL_ERROR, {
      type: msg.type,
      message: `This message cannot be streamed: ${why}`,
    });
    try {
      return formatEvent(channel.adapt(failed), id);
    } catch {
      return formatEvent({ event: failed.type, retry: DEFAULT_RETRY_MS, data: failed.payload }, id);
    }
  }
}
