import type { JsonValue } from '../bus/message.js';
import { type Command, withEventLimit, withLastEventId, withPayload } from '../wire/socket-protocol.js';

/** Options of a stream (`l`, `w`). */
export interface StreamOptions {
  /**
   * Resume after this event id (the `id` of the last event received;
   * docs/protocol.md, "Event ids, histories and resume"): the server replays what came after it, a
   * `_eric_gap` event first when its history does not reach back that far. For a watch, resumes
   * the watch whose stream carried the id. Servers without ids ignore it.
   */
  lastEventId?: string;
  /**
   * At most this many events (a positive whole number; docs/protocol.md, "Bounded streams: n"): an
   * eric-bus server writes no more, takes no more than that off the queue (the rest stay queued for
   * the next stream), then ends the stream; the iterator ends after that many in any case.
   * eric-sse's server ignores the limit: in front of it the client leaves after that many, and what
   * the server had already written beyond them is lost. Anything else throws
   * `InvalidMessageFormat`.
   */
  limit?: number;
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

  /**
   * Sends a streaming command (`l`, `w`) and yields each event the server sends: at most the
   * command's `n`, when it has a valid one (docs/protocol.md, "Bounded streams: n").
   */
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

  /**
   * Starts a listener and streams its events; with `lastEventId`, resumes after that event; with
   * `limit`, ends after that many.
   */
  stream(channelId: string, listenerId: string, { lastEventId, limit }: StreamOptions = {}): AsyncIterable<Item> {
    return this.streamPayload(
      withEventLimit(withLastEventId({ v: 'l', c: channelId, r: listenerId }, lastEventId), limit),
    );
  }

  /**
   * Adds a listener to a channel and streams it; with `lastEventId`, resumes the watch that carried
   * that event; with `limit`, ends after that many (the watch then waits its grace period for a resume).
   */
  watch(channelId: string, { lastEventId, limit }: StreamOptions = {}): AsyncIterable<Item> {
    return this.streamPayload(withEventLimit(withLastEventId({ v: 'w', c: channelId }, lastEventId), limit));
  }
}
