import type { JsonValue } from '../bus/message.js';
import { type Command, withLastEventId, withPayload } from '../wire/socket-protocol.js';

/** Options of a stream (`l`, `w`). */
export interface StreamOptions {
  /**
   * Resume after this event id (the `id` of the last event received;
   * docs/protocol.md, "Event ids, histories and resume"): the server replays what came after it, a
   * `_eric_gap` event first when its history does not reach back that far. For a watch, resumes
   * the watch whose stream carried the id. Servers without ids ignore it.
   */
  lastEventId?: string;
}

/**
 * The protocol's verbs as methods, over any transport: a subclass says how one command is
 * answered (`sendPayload`) and how a stream is read (`streamPayload`). Shared by the Unix
 * `SocketClient` and the WebSocket `BridgeClient`.
 */
export abstract class ProtocolClient<Item> {
  /**
   * Sends one command and resolves with the plain reply (`ack`, an id); rejects with the typed error
   * the server replied.
   */
  abstract sendPayload(command: Command): Promise<string>;

  /** Sends a streaming command (`l`, `w`) and yields each event the server sends. */
  abstract streamPayload(command: Command): AsyncIterable<Item>;

  /** Creates a channel; resolves with its id. */
  createChannel(): Promise<string> {
    return this.sendPayload({ v: 'c' });
  }

  /** Adds a listener to a channel; resolves with its id. */
  register(channelId: string): Promise<string> {
    return this.sendPayload({ v: 'r', c: channelId });
  }

  /** Sends `Message(type, payload)` to one listener; resolves with `ack`. */
  dispatch(channelId: string, receiverId: string, type: string, payload?: JsonValue): Promise<string> {
    return this.sendPayload(withPayload({ v: 'd', c: channelId, r: receiverId, t: type }, payload));
  }

  /** Sends `Message(type, payload)` to every listener of a channel; resolves with `ack`. */
  broadcastMessage(channelId: string, type: string, payload?: JsonValue): Promise<string> {
    return this.sendPayload(withPayload({ v: 'b', c: channelId, t: type }, payload));
  }

  /** Removes a listener; resolves with `ack`. */
  removeListener(channelId: string, listenerId: string): Promise<string> {
    return this.sendPayload({ v: 'rl', c: channelId, r: listenerId });
  }

  /** Removes a channel (its open streams end); resolves with `ack`. */
  removeChannel(channelId: string): Promise<string> {
    return this.sendPayload({ v: 'rc', c: channelId });
  }

  /** Starts a listener and streams its events; with `lastEventId`, resumes after that event. */
  stream(channelId: string, listenerId: string, { lastEventId }: StreamOptions = {}): AsyncIterable<Item> {
    return this.streamPayload(withLastEventId({ v: 'l', c: channelId, r: listenerId }, lastEventId));
  }

  /** Adds a listener to a channel and streams it; with `lastEventId`, resumes the watch that carried that event. */
  watch(channelId: string, { lastEventId }: StreamOptions = {}): AsyncIterable<Item> {
    return this.streamPayload(withLastEventId({ v: 'w', c: channelId }, lastEventId));
  }
}
