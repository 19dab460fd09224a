import { BridgeConnection, type BridgeConnectionOptions, type BridgeState } from './connection.js';
import { ProtocolClient, type Command } from './protocol-client.js';
import type { SSEEvent } from '../bus/sse.js';

/** Options of a {@link BridgeClient}. */
export type BridgeClientOptions = BridgeConnectionOptions;

/**
 * The socket protocol's verbs over an eric-bus WebSocket bridge, for the browser: the same
 * methods as `SocketClient`, streams as `AsyncIterable`s of `{ event, retry, data }` that
 * `break` cancels, and automatic reconnection that re-opens the streams that were open.
 *
 * ```ts
 * const client = new BridgeClient('ws://127.0.0.1:8765/', { token });
 * const channel = await client.createChannel();
 * for await (const event of client.watch(channel)) console.log(event);
 * ```
 */
export class BridgeClient extends ProtocolClient<SSEEvent> {
  readonly #connection: BridgeConnection;

  constructor(url: string | URL, options: BridgeClientOptions = {}) {
    super();
    this.#connection = new BridgeConnection(url, options);
  }

  /** The bridge's URL, token included. */
  get url(): string {
    return this.#connection.url;
  }

  /** `connecting`, `connected`, `reconnecting`, or the final `refused` / `closed`. */
  get state(): BridgeState {
    return this.#connection.state;
  }

  /** Calls `listener` at each state change; returns the unsubscribe function. */
  onStateChange(listener: (state: BridgeState) => void): () => void {
    return this.#connection.onStateChange(listener);
  }

  /** Resolves once connected; rejects with `BridgeRefused` or `ClientClosed` if that comes first. */
  whenConnected(): Promise<void> {
    return this.#connection.whenConnected();
  }

  sendPayload(command: Command): Promise<string> {
    return this.#connection.request(command);
  }

  streamPayload(command: Command): AsyncIterableIterator<SSEEvent> {
    return this.#connection.stream(command);
  }

  /** Closes the connection for good: pending commands fail with `ClientClosed`, open streams end. */
  close(): void {
    this.#connection.close();
  }
}
