import type { SSEEvent } from '../wire/event-stream.js';
import { AbstractChannel, type ChannelOptions } from './channel.js';
import type { Message } from './message.js';

export { parseEventStream, type SSEEvent, toEventStream } from '../wire/event-stream.js';

/** Options of an {@link SSEChannel}. */
export interface SSEChannelOptions<D> extends ChannelOptions {
  /** Reconnection time advertised in each event, in milliseconds (eric-sse's default: 5). */
  retryTimeoutMilliseconds?: number;
  /** Maps a message payload to the event's `data`; identity by default. */
  payloadAdapter?: (payload: unknown) => D;
}

/** The default channel: messages become `{ event, retry, data }` events. */
export class SSEChannel<D = unknown> extends AbstractChannel<SSEEvent<D>> {
  readonly retryTimeoutMilliseconds: number;
  readonly #payloadAdapter: (payload: unknown) => D;

  constructor({ retryTimeoutMilliseconds = 5, payloadAdapter, ...options }: SSEChannelOptions<D> = {}) {
    super(options);
    this.retryTimeoutMilliseconds = retryTimeoutMilliseconds;
    this.#payloadAdapter = payloadAdapter ?? ((payload) => payload as D);
  }

  adapt(msg: Message): SSEEvent<D> {
    return { event: msg.type, retry: this.retryTimeoutMilliseconds, data: this.#payloadAdapter(msg.payload) };
  }
}
