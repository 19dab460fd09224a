import { InvalidChannelException } from '../errors.js';
import { SSEChannel, type SSEChannelOptions } from './sse.js';

/** Holds channels by id: the one place channels are looked up. */
export class SSEChannelContainer implements Iterable<SSEChannel> {
  readonly #channels = new Map<string, SSEChannel>();
  readonly #options: SSEChannelOptions<unknown>;

  /** `options` are given to every channel this container creates. */
  constructor(options: SSEChannelOptions<unknown> = {}) {
    this.#options = options;
  }

  /** Creates a channel and keeps it. */
  add(): SSEChannel {
    const { id: _ignored, ...options } = this.#options;
    const channel = new SSEChannel(options);
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
    this.#channels.delete(channelId);
    channel.close();
  }

  get size(): number {
    return this.#channels.size;
  }

  [Symbol.iterator](): Iterator<SSEChannel> {
    return this.#channels.values();
  }
}
