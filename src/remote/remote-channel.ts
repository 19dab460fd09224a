import type { JsonValue, Message } from '../bus/message.js';
import type { SSEEvent } from '../bus/sse.js';
import type { BridgeClient } from './bridge-client.js';
import type { StreamOptions } from './protocol-client.js';

/** A listener of a backend channel, as {@link RemoteChannel.addListener} returns it. */
export interface RemoteListener {
  readonly id: string;
}

/**
 * A channel of the backend, seen through a {@link BridgeClient} with the shapes of an in-page
 * `SSEChannel`: `addListener`, `dispatch`, `broadcast`, `messageStream`, `watch`. Each call is a
 * command to the server, hence a promise; streams yield the same `{ event, retry, data }` events.
 */
export class RemoteChannel {
  constructor(
    readonly client: BridgeClient,
    /** The backend channel's id. */
    readonly id: string,
  ) {}

  /** Creates a channel on the backend and returns it. */
  static async create(client: BridgeClient): Promise<RemoteChannel> {
    return new RemoteChannel(client, await client.createChannel());
  }

  /** Adds a listener on the backend (not yet running: `messageStream` starts it). */
  async addListener(): Promise<RemoteListener> {
    return { id: await this.client.register(this.id) };
  }

  /** Removes a listener; a stream open on it ends. */
  async removeListener(listener: string | RemoteListener): Promise<void> {
    await this.client.removeListener(this.id, idOf(listener));
  }

  /** Appends a message to one listener's queue. */
  async dispatch(listener: string | RemoteListener, msg: Message<JsonValue | undefined>): Promise<void> {
    await this.client.dispatch(this.id, idOf(listener), msg.type, msg.payload);
  }

  /** Appends a message to every listener's queue. */
  async broadcast(msg: Message<JsonValue | undefined>): Promise<void> {
    await this.client.broadcastMessage(this.id, msg.type, msg.payload);
  }

  /**
   * Starts the listener and streams its events until it stops or is removed; `break` cancels. Resumed
   * exactly after a reconnection; `lastEventId` resumes after an event of an earlier stream; `limit`
   * ends it after that many events, the rest left queued.
   */
  messageStream(listener: string | RemoteListener, options?: StreamOptions): AsyncIterable<SSEEvent> {
    return this.client.stream(this.id, idOf(listener), options);
  }

  /**
   * Adds a started listener and streams it; `lastEventId` resumes the watch that carried that event;
   * `limit` ends it after that many events.
   */
  watch(options?: StreamOptions): AsyncIterable<SSEEvent> {
    return this.client.watch(this.id, options);
  }

  /** Removes the channel from the backend; its streams end. */
  async remove(): Promise<void> {
    await this.client.removeChannel(this.id);
  }
}

function idOf(listener: string | RemoteListener): string {
  return typeof listener === 'string' ? listener : listener.id;
}
