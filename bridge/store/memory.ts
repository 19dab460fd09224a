/** The default store: channels in this process's memory, in an {@link SSEChannelContainer}. */
import {
  type AbstractChannel,
  MESSAGE_TYPE_CLOSED,
  Message,
  type MessageQueueListener,
  type SSEChannel,
  SSEChannelContainer,
  type SSEEvent,
} from '../../src/index.js';
import { formatError, formatEvent } from '../../src/wire/socket-protocol.js';
import type { ChannelStore, EventFeed, FeedStep } from './store.js';

/**
 * Channels kept in memory: everything is synchronous, so commands answer without a promise
 * and a feed hands out what waits in the same tick.
 */
export class MemoryStore implements ChannelStore {
  /** The channels commands act on. */
  readonly channels: SSEChannelContainer;
  /** The feed serving each listener, so that a newer one can take over. */
  readonly #feeds = new Map<MessageQueueListener, MemoryFeed>();

  /** Serves `channels` (a fresh container by default). */
  constructor(channels: SSEChannelContainer = new SSEChannelContainer()) {
    this.channels = channels;
  }

  createChannel(): string {
    return this.channels.add().id;
  }

  addListener(channelId: string): string {
    return this.channels.get(channelId).addListener().id;
  }

  dispatch(channelId: string, listenerId: string, msg: Message): void {
    this.channels.get(channelId).dispatch(listenerId, msg);
  }

  broadcast(channelId: string, msg: Message): void {
    this.channels.get(channelId).broadcast(msg);
  }

  removeListener(channelId: string, listenerId: string): void {
    this.channels.get(channelId).removeListener(listenerId);
  }

  removeChannel(channelId: string): void {
    this.channels.rm(channelId);
  }

  listen(channelId: string, listenerId: string): EventFeed {
    const channel = this.channels.get(channelId);
    const listener = channel.getListener(listenerId);
    listener.startSync();
    return this.#open(channel, listener);
  }

  watch(channelId: string): EventFeed {
    const channel = this.channels.get(channelId);
    const listener = channel.addListener();
    listener.startSync();
    // A watch's listener lives as long as its stream, as in the core's watch().
    return this.#open(channel, listener, () => {
      if (channel.hasListener(listener)) channel.removeListener(listener.id);
    });
  }

  async close(): Promise<void> {
    for (const feed of [...this.#feeds.values()]) feed.interrupt('stopped');
  }

  #open(channel: SSEChannel, listener: MessageQueueListener, onClose?: () => void): EventFeed {
    // One stream per listener: a client that re-opens `l` after losing its connection must not
    // compete with its old stream, whose departure the server may not have noticed yet (an idle
    // Unix socket tells nothing until written to), or messages could arrive out of order.
    this.#feeds.get(listener)?.interrupt('superseded');
    const feed = new MemoryFeed(channel, listener, () => {
      if (this.#feeds.get(listener) === feed) this.#feeds.delete(listener);
      onClose?.();
    });
    this.#feeds.set(listener, feed);
    return feed;
  }
}

/** A listener's stream over an in-memory channel: takes messages off its queue, puts back what was not written. */
export class MemoryFeed implements EventFeed {
  readonly delayMs: number;
  readonly listenerId: string;
  readonly #channel: AbstractChannel<SSEEvent>;
  readonly #listener: MessageQueueListener;
  readonly #control = new AbortController();
  readonly #onClose: (() => void) | undefined;
  #taken: Message[] = [];
  #cancelWait: (() => void) | null = null;
  #closed = false;

  constructor(channel: AbstractChannel<SSEEvent>, listener: MessageQueueListener, onClose?: () => void) {
    this.#channel = channel;
    this.#listener = listener;
    this.#onClose = onClose;
    this.listenerId = listener.id;
    this.delayMs = channel.streamDelaySeconds * 1000;
  }

  get interrupted(): AbortSignal {
    return this.#control.signal;
  }

  /** Ends the stream from outside, e.g. when a newer stream of the listener takes over. */
  interrupt(end: 'superseded' | 'stopped'): void {
    this.#control.abort(end);
  }

  next(room: number): FeedStep | Promise<FeedStep> {
    const channel = this.#channel;
    const listener = this.#listener;
    const id = listener.id;
    if (!channel.hasListener(listener)) {
      listener.stopSync();
      return { lines: formatEvent(channel.adapt(new Message(MESSAGE_TYPE_CLOSED))), end: 'closed' };
    }
    if (!listener.isRunningSync()) return { end: 'stopped' };
    if (channel.queueLength(id) === 0) {
      return new Promise((resolve) => {
        this.#cancelWait = channel.whenMessageWaits(id, () => {
          this.#cancelWait = null;
          resolve(this.next(room));
        });
      });
    }
    // Take only as many messages as the socket has room for (at least one).
    const taken: Message[] = [];
    this.#taken = taken;
    let lines = '';
    try {
      do {
        const msg = channel.deliverNext(id);
        taken.push(msg);
        lines += formatEvent(channel.adapt(msg));
      } while (lines.length < room && channel.queueLength(id) > 0 && listener.isRunningSync());
    } catch (error) {
      // E.g. a listener's onMessage threw: what was taken before the failure still goes out.
      this.#taken = [];
      return { lines: lines + formatError(error), end: 'failed', error };
    }
    return { lines };
  }

  written(): void {
    this.#taken = [];
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
    this.#onClose?.();
  }
}
