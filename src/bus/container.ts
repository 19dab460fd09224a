import { InvalidChannelException } from '../errors.js';
import { SSEChannel, type SSEChannelOptions } from './sse.js';

/** Holds channels by id: the one place channels are looked up. */
export class SSEChannelContainer implements Iterable<SSEChannel> {
  readonly #channels = new Map<string, SSEChannel>();
  readonly #options: SSEChannelOptions<unknown>;
  #listeners = 0;

  /** `options` are given to every channel this container creates. */
  constructor(options: SSEChannelOptions<unknown> = {}) {
    this.#options = options;
  }

  /** Creates a channel and keeps it. */
  add(): SSEChannel {
    const { id: _ignored, onSizeChange, ...options } = this.#options;
    const channel: SSEChannel = new SSEChannel({
      ...options,
      onSizeChange: (delta) => {
        // A channel removed from the container no longer counts.
        if (this.#channels.get(channel.id) === channel) this.#listeners += delta;
        onSizeChange?.(delta);
      },
    });
    if (this.#channels.has(channel.id))
      throw new InvalidChannelException(`Channel with id ${channel.id} already exists`);
    this.#channels.set(channel.id, channel);
    return channel;
  }

  get(channelId: string): SSEChannel {
    const channel = this.#channels.get(channelId);
    if (!channel) throw new InvalidChannelException(`No channel with id ${channelId}`);
    return channel;
  }

  /** Removes a channel; its open streams yield one closed event and end. */
  rm(channelId: string): void {
    const channel = this.get(channelId);
    this.#listeners -= channel.size;
    this.#channels.delete(channelId);
    channel.close();
  }

  get size(): number {
    return this.#channels.size;
  }

  /** How many listeners the channels held here have, in all. */
  get listenerCount(): number {
    return this.#listeners;
  }

  [Symbol.iterator](): Iterator<SSEChannel> {
    return this.#channels.values();
  }
}
