import type { SSEEvent } from '../bus/sse.js';
import { BridgeRefused, ClientClosed, ConnectionLost, errorFromFrame, InvalidMessageFormat } from '../errors.js';
import { log } from '../log.js';
import { type TabShare, tabSharedWebSocket } from '../tabs/shared-socket.js';
import {
  AUTH_VERB,
  CANCEL_VERB,
  CREDIT_VERB,
  commandKeysOf,
  type FrameId,
  frameText,
  parseReplyFrame,
  type ReplyFrame,
  TOKEN_EXPIRED_CLOSE,
} from '../wire/bridge-frames.js';
import { type Command, eventLimitOf } from '../wire/socket-protocol.js';
import type { WebSocketConstructor, WebSocketLike } from '../wire/websocket-like.js';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import { type BridgeUrls, UrlRotation, urlList, webSocketUrl } from './bridge-urls.js';
import { ProtocolClient } from './protocol-client.js';
import { creditDue, pushStream, type StreamSink } from './push-stream.js';
import { TokenRefresher, type TokenSource } from './token-refresh.js';

export type { WebSocketConstructor, WebSocketLike } from '../wire/websocket-like.js';

/** Where a {@link BridgeClient} stands. `refused` and `closed` are final. */
export type BridgeState = 'connecting' | 'connected' | 'reconnecting' | 'refused' | 'closed';

/** Asks the bridge's HTTP side why an upgrade failed: its status, and a refusal's reason from `text` when there. */
export type ProbeFetch = (url: string) => Promise<{ status: number; text?: () => Promise<string> }>;

/** Options of a {@link BridgeClient}. */
export interface BridgeClientOptions {
  /**
   * The bridge's token, sent as `?token=` (it may also be in the URL already); or a function that
   * fetches a signed one from the application's backend, called before connecting, after three
   * quarters of each token's lifetime (the fresh one goes to the open connection), and when the
   * bridge closed the connection for an expired token (4401) before reconnecting
   * (docs/security.md, "Refreshing a token").
   */
  token?: TokenSource;
  /** WebSocket implementation; the global `WebSocket` by default. */
  WebSocket?: WebSocketConstructor;
  /** Reconnection backoff, or `false` to give up at the first lost connection. */
  reconnect?: BackoffOptions | false;
  /**
   * Used after a failed upgrade to tell a refusal (HTTP 401/403: final once every bridge of the list
   * has refused) from an outage (retry): browsers do not expose the upgrade's status. The global
   * `fetch` by default.
   */
  fetch?: ProbeFetch;
  /**
   * Events a stream may hold ahead of its consumer (default 256): the bridge sends no more until the
   * consumer has taken some, and the rest stay queued on the server. `Infinity` turns the window off.
   */
  streamWindow?: number;
  /**
   * Share one WebSocket with the other tabs of this origin that give the same name and URL, token
   * aside (docs/tabs.md): one tab holds it, the others go through that tab; it opens with the newest
   * token a tab gave. Where the browser lacks Web Locks or BroadcastChannel, this tab connects on its own.
   */
  shareAcrossTabs?: string;
}

const OPEN = 1;

/** Events a stream holds ahead of its consumer by default. */
export const DEFAULT_STREAM_WINDOW = 256;

/**
 * A command or stream waiting for its reply; `sent` is false until the current socket carries it. A
 * stream remembers the id of the last event it received, to resume after it on the next socket,
 * counts the credit it `granted` the bridge on that socket and the events it `received`, and how
 * many events it may still yield (`left`: its command's `n`, less those received on any socket).
 */
type Pending =
  | {
      kind: 'request';
      frame: string;
      sent: boolean;
      /** The socket it went out on: its reply comes there, even once the client has moved on. */
      on?: WebSocketLike;
      resolve: (reply: string) => void;
      reject: (error: Error) => void;
    }
  | {
      kind: 'stream';
      command: Command;
      lastEventId: string | undefined;
      sent: boolean;
      sink: StreamSink<SSEEvent>;
      granted: number;
      received: number;
      left: number;
    };

/**
 * The socket protocol's verbs over an eric-bus WebSocket bridge, for the browser: the same
 * methods as `SocketClient`, streams as `AsyncIterable`s of `{ event, retry, data, id }` that
 * `break` cancels, and automatic reconnection that resumes the streams that were open.
 *
 * ```ts
 * const client = new BridgeClient('ws://127.0.0.1:8765/', { token });
 * const channel = await client.createChannel();
 * for await (const event of client.watch(channel)) console.log(event);
 * ```
 *
 * One logical connection over successive WebSockets: reply frames are routed to their requests
 * and streams by id, commands wait while (re)connecting, and after a reconnection each stream
 * that was open is re-opened after the id of the last event it received
 * (docs/protocol.md, "Event ids, histories and resume"), so an eric-bus
 * server replays what the dropped connection lost: within its history nothing is lost and nothing
 * yielded twice. Commands already sent when a socket drops fail with {@link ConnectionLost} (they
 * may have run: they are not replayed).
 *
 * Given several URLs (bridges in front of one Redis), it moves to the next at once when it loses
 * one, and backs off only after a full round; a draining bridge's `reconnect` end moves it too,
 * while the commands it sent there are still answered (docs/bridge.md, "Several bridges").
 */
export class BridgeClient extends ProtocolClient<SSEEvent> {
  readonly #urls: UrlRotation;
  /** With `shareAcrossTabs`, where the browser can share: whether this tab holds the shared WebSocket. */
  readonly sharedAcrossTabs: TabShare | undefined;
  readonly #refresher: TokenRefresher | undefined;
  /** The bridge closed the last connection for an expired token: fetch a fresh one before reconnecting. */
  #tokenExpired = false;
  /** The token of the current attempt was fetched for it: a 401 then is a refusal, not an old token. */
  #freshToken = false;
  readonly #WebSocket: WebSocketConstructor;
  readonly #reconnect: BackoffOptions | false;
  readonly #fetch: ProbeFetch | undefined;
  readonly #window: number;
  readonly #pending = new Map<FrameId, Pending>();
  readonly #stateListeners = new Set<(state: BridgeState) => void>();
  #socket: WebSocketLike | null = null;
  #state: BridgeState = 'connecting';
  #failure: Error | undefined;
  #nextId = 1;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Sockets of draining bridges, kept until the commands sent on them are answered. */
  readonly #retired = new Set<WebSocketLike>();

  /** `url`: a bridge, or a list of bridges that share one Redis, tried in turn. */
  constructor(url: BridgeUrls, options: BridgeClientOptions = {}) {
    super();
    const token = options.token;
    this.#urls = new UrlRotation(
      urlList(url).map((u) => webSocketUrl(u, typeof token === 'string' ? token : undefined)),
    );
    this.#refresher = typeof token === 'function' ? new TokenRefresher(token, (fresh) => this.#auth(fresh)) : undefined;
    const Impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Impl) throw new TypeError('No WebSocket implementation: pass one as the WebSocket option');
    const share = options.shareAcrossTabs;
    const shared = share === undefined ? undefined : tabSharedWebSocket(share, this.url, Impl);
    this.#WebSocket = shared?.WebSocket ?? Impl;
    this.sharedAcrossTabs = shared?.share;
    this.#reconnect = options.reconnect ?? {};
    this.#fetch = options.fetch ?? (typeof fetch === 'function' ? (u) => fetch(u) : undefined);
    const window = options.streamWindow ?? DEFAULT_STREAM_WINDOW;
    if (!(window === Infinity || (Number.isSafeInteger(window) && window > 0)))
      throw new RangeError(`streamWindow is a positive whole number of events or Infinity, not ${window}`);
    this.#window = window;
    this.#connect();
  }

  /**
   * The URL of the bridge in use (or tried next), token included (with a token function: the
   * current token, once fetched).
   */
  get url(): string {
    const current = this.#refresher?.current;
    return current === undefined ? this.#urls.current : webSocketUrl(this.#urls.current, current);
  }

  /** `connecting`, `connected`, `reconnecting`, or the final `refused` / `closed`. */
  get state(): BridgeState {
    return this.#state;
  }

  /** Calls `listener` at each state change; returns the unsubscribe function. */
  onStateChange(listener: (state: BridgeState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /** Resolves once connected (at once if already); rejects if the connection is refused or closed first. */
  whenConnected(): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (state: BridgeState): boolean => {
        if (state === 'connected') resolve();
        else if (state === 'refused' || state === 'closed') reject(this.#failure ?? new ClientClosed('Client closed'));
        else return false;
        return true;
      };
      if (check(this.#state)) return;
      const off = this.onStateChange((state) => {
        if (check(state)) off();
      });
    });
  }

  /** Sends a command and resolves with the server's plain reply (rejects with its typed error). */
  sendPayload(command: Command): Promise<string> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      let frame: string;
      try {
        // The command's keys only: a frame's own (`id`, `credit`) are the client's to set.
        frame = frameText(id, commandKeysOf(command as unknown as Record<string, unknown>));
      } catch (error) {
        // A payload JSON cannot write (too deep for the stack, a cycle, a BigInt).
        return reject(new InvalidMessageFormat(`The command cannot be sent as JSON: ${(error as Error).message}`));
      }
      this.#track(id, { kind: 'request', frame, sent: false, resolve, reject });
    });
  }

  /**
   * Opens a stream: its events in order; `break` sends a cancel. Resumed after a reconnection from
   * the last event id received (from the command's `i` until one arrives), asking for what is left
   * of the command's `n`; it ends after `n` events in any case. It holds at most `streamWindow`
   * events ahead of the consumer: the rest wait on the server.
   */
  streamPayload(command: Command): AsyncIterableIterator<SSEEvent> {
    const id = this.#nextId++;
    const { stream, sink } = pushStream<SSEEvent>(
      () => this.#cancel(id),
      () => this.#grant(id),
    );
    const lastEventId = command.v === 'l' || command.v === 'w' ? command.i : undefined;
    if (this.#failure) sink.finish(this.#failure);
    else {
      const left = eventLimitOf(command);
      this.#track(id, { kind: 'stream', command, lastEventId, sent: false, sink, granted: 0, received: 0, left });
    }
    return stream;
  }

  /** Closes for good: pending commands fail with {@link ClientClosed}, open streams end. */
  close(): void {
    if (this.#failure) return;
    this.#fail(new ClientClosed('Client closed'), 'closed');
  }

  #track(id: FrameId, pending: Pending): void {
    this.#pending.set(id, pending);
    if (this.#socket?.readyState === OPEN) this.#send(id, pending);
  }

  #send(id: FrameId, pending: Pending): void {
    pending.sent = true;
    if (pending.kind === 'request') {
      pending.on = this.#socket!;
      return this.#socket!.send(pending.frame);
    }
    const { command, lastEventId } = pending;
    // A (re-)opened stream may take its window, less what still waits for the consumer.
    pending.received = 0;
    pending.granted = this.#window === Infinity ? Infinity : Math.max(0, this.#window - pending.sink.queued);
    const resume = lastEventId === undefined ? {} : { i: lastEventId };
    const limit = pending.left === Infinity ? {} : { n: pending.left };
    const credit = pending.granted === Infinity ? {} : { credit: pending.granted };
    const keys = commandKeysOf(command as unknown as Record<string, unknown>);
    this.#socket!.send(frameText(id, { ...keys, ...resume, ...limit, ...credit }));
  }

  /** The consumer took an event: once half the window is free, the bridge may send that many more. */
  #grant(id: FrameId): void {
    const pending = this.#pending.get(id);
    if (pending?.kind !== 'stream' || !pending.sent || pending.granted === Infinity) return;
    if (this.#socket?.readyState !== OPEN) return;
    const room = creditDue(this.#window, pending.granted, pending.received, pending.sink.queued);
    if (room === 0) return;
    pending.granted += room;
    this.#socket.send(frameText(id, { v: CREDIT_VERB, credit: room }));
  }

  #cancel(id: FrameId): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    if (pending.sent && this.#socket?.readyState === OPEN) this.#socket.send(frameText(id, { v: CANCEL_VERB }));
  }

  #setState(state: BridgeState): void {
    if (this.#state === state) return;
    this.#state = state;
    for (const listener of [...this.#stateListeners]) listener(state);
  }

  /** Opens a WebSocket; with a token function, once it has given a token (a fresh one after a 4401). */
  #connect(): void {
    this.#timer = undefined;
    const refresher = this.#refresher;
    this.#freshToken = false;
    if (!refresher || (refresher.current !== undefined && !this.#tokenExpired)) return this.#open();
    refresher.fresh().then(
      () => {
        this.#tokenExpired = false;
        this.#freshToken = true;
        if (!this.#failure) this.#open();
      },
      (error: unknown) => {
        // No token yet is an outage of the application's backend: tried again with backoff.
        log().warn('eric-bus: could not fetch a token for the bridge:', error);
        this.#retry();
      },
    );
  }

  /** Hands a fresh token to the open connection (`auth`); a refusal leaves the old one in force until it expires. */
  #auth(token: string): void {
    if (this.#failure || this.#socket?.readyState !== OPEN) return;
    const id = this.#nextId++;
    const frame = frameText(id, { v: AUTH_VERB, token });
    this.#track(id, {
      kind: 'request',
      frame,
      sent: false,
      resolve: () => {},
      reject: (error) => log().warn('eric-bus: the bridge refused a fresh token:', error),
    });
  }

  #open(): void {
    this.#timer = undefined;
    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(this.url);
    } catch (error) {
      // e.g. a page served over https may not open ws://: no retry can fix that.
      this.#fail(
        new ConnectionLost(`Cannot open a WebSocket to ${this.#redactedUrl()}: ${(error as Error).message}`),
        'closed',
      );
      return;
    }
    this.#socket = socket;
    let opened = false;
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      opened = true;
      this.#attempt = 0;
      this.#urls.connected();
      this.#setState('connected');
      // Insertion order: streams and queued commands go out in the order they were made.
      for (const [id, pending] of this.#pending) if (!pending.sent && this.#socket === socket) this.#send(id, pending);
    };
    socket.onmessage = (event: { data: unknown }) => {
      if (typeof event.data !== 'string') return;
      if (this.#socket === socket) this.#receive(event.data, socket);
      else if (this.#retired.has(socket)) this.#receive(event.data, socket, true);
    };
    socket.onerror = () => {};
    socket.onclose = (event: { code: number; reason: string }) => {
      if (this.#retired.delete(socket)) return this.#lostRetired(socket);
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#lost(`WebSocket closed (${event.code}${event.reason ? ` ${event.reason}` : ''})`, socket);
      if (event.code === TOKEN_EXPIRED_CLOSE && this.#refresher) {
        // Expired: a fresh token, then at once a new connection that resumes the streams.
        return this.#reconnectWithFreshToken();
      }
      if (opened) this.#retry();
      else void this.#probeThenRetry();
    };
  }

  /**
   * A frame from `socket`; from a `retired` one only the replies to the commands sent on it count:
   * its streams go on from their last id on the socket that replaced it.
   */
  #receive(text: string, socket: WebSocketLike, retired = false): void {
    const frame = parseReplyFrame(text);
    if (!frame) return log().warn('eric-bus: ignoring a frame that is not in the bridge envelope:', text);
    if (frame.id === null)
      return log().warn('eric-bus: the bridge rejected a frame:', (frame as { error: string }).error);
    const pending = this.#pending.get(frame.id);
    if (!pending) return; // a stream cancelled while its frames were on the way
    if (pending.kind === 'request') {
      if (pending.on !== socket) return;
      this.#settleRequest(frame, pending);
      if (retired) this.#closeIfIdle(socket);
    } else if (!retired) this.#feedStream(frame, pending);
  }

  #settleRequest(frame: ReplyFrame, pending: Extract<Pending, { kind: 'request' }>): void {
    this.#pending.delete(frame.id!);
    if ('ok' in frame) pending.resolve(frame.ok);
    else if ('error' in frame) pending.reject(errorFromFrame(frame.error));
    else pending.reject(new ConnectionLost(`Unexpected stream frame for a command: ${JSON.stringify(frame)}`));
  }

  #feedStream(frame: ReplyFrame, pending: Extract<Pending, { kind: 'stream' }>): void {
    if ('data' in frame) {
      pending.received++;
      // Servers without ids (eric-sse's) give none: such a stream re-opens as it began.
      if (typeof frame.data.id === 'string') pending.lastEventId = frame.data.id;
      pending.sink.push(frame.data);
      // The last event asked for. An eric-bus server ends the stream by itself; the cancel is for
      // one that ignores `n` (eric-sse's), which would go on.
      if (--pending.left === 0) {
        this.#cancel(frame.id!);
        pending.sink.finish();
      }
      return;
    }
    if ('end' in frame && frame.reconnect === true) return this.#moveOn();
    this.#pending.delete(frame.id!);
    if ('end' in frame) pending.sink.finish();
    else if ('error' in frame) pending.sink.finish(errorFromFrame(frame.error));
    else pending.sink.finish(new ConnectionLost(`Unexpected reply frame for a stream: ${JSON.stringify(frame)}`));
  }

  /** A socket dropped: commands it carried fail; streams wait to be resumed on the next socket. */
  #lost(why: string, socket: WebSocketLike): void {
    for (const [id, pending] of this.#pending) {
      if (pending.kind === 'stream') pending.sent = false;
      else if (pending.sent && pending.on === socket) {
        this.#pending.delete(id);
        pending.reject(new ConnectionLost(`${why} before the reply to command ${id}`));
      }
    }
  }

  /**
   * The bridge is draining: its streams resume on the next bridge at once; the socket stays open,
   * retired, until the commands sent on it are answered (docs/bridge.md, "Draining a bridge").
   */
  #moveOn(): void {
    const socket = this.#socket;
    if (!socket) return;
    this.#socket = null;
    this.#retired.add(socket);
    for (const pending of this.#pending.values()) if (pending.kind === 'stream') pending.sent = false;
    this.#closeIfIdle(socket);
    this.#urls.moveOn();
    this.#setState('reconnecting');
    this.#connect();
  }

  /** Closes a retired socket once no command sent on it waits for its reply. */
  #closeIfIdle(socket: WebSocketLike): void {
    for (const pending of this.#pending.values()) if (pending.kind === 'request' && pending.on === socket) return;
    this.#retired.delete(socket);
    if (socket.readyState <= OPEN) socket.close(1000);
  }

  /** A retired socket closed before answering: the commands it carried fail as on any lost socket. */
  #lostRetired(socket: WebSocketLike): void {
    for (const [id, pending] of this.#pending) {
      if (pending.kind !== 'request' || pending.on !== socket) continue;
      this.#pending.delete(id);
      pending.reject(new ConnectionLost(`The draining bridge closed before the reply to command ${id}`));
    }
  }

  async #probeThenRetry(): Promise<void> {
    const { status, reason } = await this.#probe();
    if (this.#failure) return;
    if (status === 401 && this.#refresher && !this.#freshToken) {
      // Refused a token fetched before: a fresh one (it may have expired meanwhile), on the same bridge
      // at once, so that each bridge's verdict is on a fresh token; a fresh one refused counts.
      return this.#reconnectWithFreshToken();
    }
    if (status === 401 || status === 403) {
      // Final only once every bridge of the list has refused: another may take what this one did not.
      if (!this.#urls.refused()) return this.#retry();
      const why = reason ?? (status === 401 ? 'wrong or missing token' : 'origin not allowed');
      this.#fail(new BridgeRefused(`The bridge refused the connection: HTTP ${status} (${why})`, status), 'refused');
    } else this.#retry();
  }

  /** Reconnects to the same bridge at once, with a token fetched for it. */
  #reconnectWithFreshToken(): void {
    this.#tokenExpired = true;
    this.#setState('reconnecting');
    this.#connect();
  }

  /**
   * The status of a plain request to the bridge, and for a refusal the reason it gives (its body:
   * `Unauthorized: token expired`); no status when it cannot be reached.
   */
  async #probe(): Promise<{ status?: number; reason?: string }> {
    if (!this.#fetch) return {};
    const target = new URL(this.url);
    target.protocol = target.protocol === 'wss:' ? 'https:' : 'http:';
    let response: Awaited<ReturnType<ProbeFetch>>;
    try {
      response = await this.#fetch(target.href);
    } catch {
      return {}; // unreachable: an outage, not a refusal
    }
    const { status } = response;
    if ((status !== 401 && status !== 403) || !response.text) return { status };
    try {
      const reason = /^[A-Za-z ]+: (.{1,200})$/.exec((await response.text()).trim())?.[1];
      return reason === undefined ? { status } : { status, reason };
    } catch {
      return { status };
    }
  }

  /** The next bridge at once; after a full round of failures, the first again after a backoff. */
  #retry(): void {
    if (this.#failure) return;
    const options = this.#reconnect;
    const lost = this.#redactedUrl();
    const round = this.#urls.advance();
    if (options === false || (round && this.#attempt >= (options.maxAttempts ?? Infinity))) {
      this.#fail(new ConnectionLost(`Lost the bridge at ${lost} and gave up reconnecting`), 'closed');
      return;
    }
    this.#setState('reconnecting');
    this.#timer = setTimeout(() => this.#connect(), round ? backoffDelay(this.#attempt++, options) : 0);
  }

  #fail(error: Error, state: 'refused' | 'closed'): void {
    this.#failure = error;
    clearTimeout(this.#timer);
    this.#refresher?.stop();
    const socket = this.#socket;
    this.#socket = null;
    if (socket && socket.readyState <= OPEN) socket.close(1000);
    for (const retired of this.#retired) if (retired.readyState <= OPEN) retired.close(1000);
    this.#retired.clear();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      if (p.kind === 'request') p.reject(error);
      else p.sink.finish(error instanceof ClientClosed ? undefined : error);
    }
    this.#setState(state);
  }

  /** The URL for messages: the token's value shown as `…` (written as is, not percent-encoded). */
  #redactedUrl(): string {
    return this.url.replace(/([?&]token=)[^&#]*/, '$1…');
  }
}
