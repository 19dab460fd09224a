import type { WebSocketConstructor, WebSocketLike } from '../wire/websocket-like.js';
import {
  holdLock,
  lifeLockName,
  TAB_PREFIX,
  type TabPlatform,
  tabPlatform,
  thisTab,
  whenReleased,
} from './platform.js';
import { urlWithoutToken } from './shared-token.js';
import { type HubPort, SocketHub } from './socket-hub.js';

/** To the holder, on the group's hub channel. */
type ToHolder =
  | { t: 'open'; tab: string; sock: number; url: string }
  | { t: 'send'; tab: string; sock: number; data: string }
  | { t: 'close'; tab: string; sock: number };

/** To one tab, on its inbox channel; `holder` names the tab that sent it. */
type ToTab =
  | { t: 'open'; holder: string; sock: number }
  | { t: 'frames'; holder: string; sock: number; frames: string[] }
  | { t: 'close'; holder: string; sock: number; code: number; reason: string };

/** On the group's announce channel: a tab has become the holder. */
interface Announce {
  t: 'holder';
  tab: string;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/** Close code and reason a tab's client sees when the holding tab has gone. */
const HOLDER_GONE = { code: 1006, reason: 'the tab holding the connection went away' };

/**
 * A WebSocket as a `BridgeClient` in one tab sees it, carried by the WebSocket the holding tab
 * keeps (docs/tabs.md, "How tabs share"). It opens when the shared WebSocket is open, closes when
 * that one does or when the holder goes away, and the client reconnects as it would after any
 * drop: through whichever tab holds by then.
 */
export class TabSocket implements WebSocketLike {
  readyState: number = CONNECTING;
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;
  readonly #group: TabGroup;
  /** This socket's number in its tab. */
  readonly sock: number;
  /** The tab whose WebSocket carries this one, once open. */
  holder: string | undefined;
  /** The URL the client asked for, its current token included: the holder may open with it. */
  readonly url: string;

  constructor(group: TabGroup, url: string) {
    this.#group = group;
    this.url = url;
    this.sock = group.connect(this);
  }

  send(data: string): void {
    if (this.readyState !== OPEN) throw new Error('The shared connection is not open');
    this.#group.send(this, data);
  }

  close(): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.#group.disconnect(this);
  }

  /** The shared WebSocket is open for this socket. */
  opened(holder: string): void {
    if (this.readyState !== CONNECTING) return;
    this.readyState = OPEN;
    this.holder = holder;
    (this.onopen as ((event: object) => void) | null)?.({});
  }

  /** A frame for this socket's client. */
  deliver(text: string): void {
    if (this.readyState === OPEN) (this.onmessage as ((event: { data: string }) => void) | null)?.({ data: text });
  }

  /** The shared WebSocket closed, or the holder went away. */
  closed(code: number, reason: string): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.#group.forget(this);
    (this.onclose as ((event: { code: number; reason: string }) => void) | null)?.({ code, reason });
  }
}

/** How a client shares its connection across tabs, seen from this tab: {@link BridgeClient.sharedAcrossTabs}. */
export interface TabShare {
  /** The name the tabs share under. */
  readonly name: string;
  /** This tab's id among the tabs. */
  readonly tabId: string;
  /** Whether this tab holds the shared WebSocket (the others go through it). */
  readonly holding: boolean;
  /** Calls `listener` when this tab becomes the holder; returns the unsubscribe function. */
  onHoldingChange(listener: (holding: boolean) => void): () => void;
}

/**
 * The tabs of one origin that share a connection under one name and URL (its token aside), seen from one of
 * them: the election of the holder (an exclusive Web Lock; the browser releases it when the
 * holding tab closes or crashes, so two tabs never hold it at once), the holder's {@link SocketHub},
 * and this tab's {@link TabSocket}s, attached to the hub directly in the holder and through
 * BroadcastChannels in the others.
 */
export class TabGroup implements TabShare {
  readonly name: string;
  readonly #platform: TabPlatform;
  readonly #holdingListeners = new Set<(holding: boolean) => void>();
  readonly #me: { id: string; held: Promise<void> };
  readonly #sockets = new Map<number, TabSocket>();
  readonly #toHolder: BroadcastChannel;
  readonly #inbox: BroadcastChannel;
  readonly #announce: BroadcastChannel;
  readonly #name: string;
  readonly #url: string;
  readonly #WebSocket: WebSocketConstructor;
  #nextSock = 1;
  /** The holding tab, as far as this tab knows. */
  #holder: string | undefined;
  /** The hub, while this tab holds. */
  #hub: SocketHub | undefined;
  /** Tabs whose going away the hub watches, with how to stop watching. */
  readonly #watched = new Map<string, () => void>();

  constructor(platform: TabPlatform, name: string, url: string, WebSocket: WebSocketConstructor) {
    this.name = name;
    this.#platform = platform;
    this.#me = thisTab(platform.locks);
    this.#name = `${TAB_PREFIX}bridge:${name}:${url}`;
    this.#url = url;
    this.#WebSocket = WebSocket;
    this.#toHolder = new platform.BroadcastChannel(`${this.#name}:hub`);
    this.#inbox = new platform.BroadcastChannel(`${this.#name}:tab:${this.#me.id}`);
    this.#announce = new platform.BroadcastChannel(`${this.#name}:holder`);
    this.#inbox.onmessage = (event: MessageEvent<ToTab>) => this.#fromHolder(event.data);
    this.#announce.onmessage = (event: MessageEvent<Announce>) => this.#holderIs(event.data.tab);
    // Held until the tab goes: the holder then stays the holder, with or without clients of its own.
    void this.#me.held.then(() => holdLock(platform.locks, `${this.#name}:lock`)).then(() => this.#lead());
  }

  /** This tab's id. */
  get tabId(): string {
    return this.#me.id;
  }

  /** Whether this tab holds the shared WebSocket. */
  get holding(): boolean {
    return this.#hub !== undefined;
  }

  onHoldingChange(listener: (holding: boolean) => void): () => void {
    this.#holdingListeners.add(listener);
    return () => this.#holdingListeners.delete(listener);
  }

  /** Registers a new socket and asks for a connection; returns its number. */
  connect(socket: TabSocket): number {
    const sock = this.#nextSock++;
    this.#sockets.set(sock, socket);
    // After the constructor: the client sets its handlers first, as for a WebSocket.
    queueMicrotask(() => this.#ask(socket, sock));
    return sock;
  }

  send(socket: TabSocket, data: string): void {
    if (socket.holder === this.#me.id) this.#hub?.send(this.#key(this.#me.id, socket.sock), data);
    else this.#post({ t: 'send', tab: this.#me.id, sock: socket.sock, data });
  }

  /** The client closed its socket. */
  disconnect(socket: TabSocket): void {
    this.#sockets.delete(socket.sock);
    if (this.#hub) this.#hub.detach(this.#key(this.#me.id, socket.sock));
    else this.#post({ t: 'close', tab: this.#me.id, sock: socket.sock });
  }

  /** The socket was closed from the holder's side. */
  forget(socket: TabSocket): void {
    this.#sockets.delete(socket.sock);
  }

  #ask(socket: TabSocket, sock: number): void {
    if (socket.readyState !== CONNECTING || this.#sockets.get(sock) !== socket) return;
    if (this.#hub) this.#hub.attach(this.#key(this.#me.id, sock), this.#localPort(socket), socket.url);
    else this.#post({ t: 'open', tab: this.#me.id, sock, url: socket.url });
  }

  #post(message: ToHolder): void {
    // Only once this tab's life lock is held, so the holder can watch it (see thisTab).
    void this.#me.held.then(() => this.#toHolder.postMessage(message));
  }

  #key(tab: string, sock: number): string {
    return `${tab}/${sock}`;
  }

  /** This tab got the lock: it opens the shared WebSocket for every tab from now on. */
  #lead(): void {
    const hub = new SocketHub(this.#url, this.#WebSocket);
    this.#hub = hub;
    this.#toHolder.onmessage = (event: MessageEvent<ToHolder>) => this.#fromTab(hub, event.data);
    this.#announce.postMessage({ t: 'holder', tab: this.#me.id } satisfies Announce);
    this.#holderIs(this.#me.id);
    for (const listener of [...this.#holdingListeners]) listener(true);
  }

  /** A tab became the holder: sockets open through another are cut (it is gone), waiting ones ask it. */
  #holderIs(holder: string): void {
    this.#holder = holder;
    for (const [sock, socket] of [...this.#sockets]) {
      if (socket.readyState === OPEN && socket.holder !== holder) socket.closed(HOLDER_GONE.code, HOLDER_GONE.reason);
      else if (socket.readyState === CONNECTING) this.#ask(socket, sock);
    }
  }

  #fromHolder(message: ToTab): void {
    if (this.#holder === undefined) this.#holder = message.holder;
    else if (message.holder !== this.#holder) return; // from a holder that has gone since
    const socket = this.#sockets.get(message.sock);
    if (!socket) return;
    if (message.t === 'frames') for (const frame of message.frames) socket.deliver(frame);
    else if (message.t === 'open') socket.opened(message.holder);
    else socket.closed(message.code, message.reason);
  }

  #fromTab(hub: SocketHub, message: ToHolder): void {
    const key = this.#key(message.tab, message.sock);
    if (message.t === 'send') return hub.send(key, message.data);
    if (message.t === 'close') return hub.detach(key);
    this.#watch(hub, message.tab);
    hub.attach(key, this.#remotePort(message.tab, message.sock), message.url);
  }

  /** Detaches every socket of `tab` once it has gone (closed or crashed): the hub cancels its streams. */
  #watch(hub: SocketHub, tab: string): void {
    if (this.#watched.has(tab)) return;
    const stop = whenReleased(this.#platform.locks, lifeLockName(tab), () => {
      this.#watched.delete(tab);
      for (const key of hub.keysOf(`${tab}/`)) hub.detach(key);
      this.#tabChannels.get(tab)?.close();
      this.#tabChannels.delete(tab);
    });
    this.#watched.set(tab, stop);
  }

  #localPort(socket: TabSocket): HubPort {
    const me = this.#me.id;
    return {
      open: () => queueMicrotask(() => socket.opened(me)),
      frame: (text) => socket.deliver(text),
      close: (code, reason) => socket.closed(code, reason),
    };
  }

  /**
   * A socket of another tab. Frames go out in batches, one message per batch of what arrived
   * together: a stream's events cross to the other tab at a fraction of a message's cost each. A
   * batch goes after the tasks already queued (those WebSocket messages among them), woken by a
   * message to itself: a timer would do as well in a tab in view, but a browser throttles the
   * timers of a tab in the background, where the holder often is, to once a second.
   */
  #remotePort(tab: string, sock: number): HubPort {
    const channel = this.#tabChannel(tab);
    const holder = this.#me.id;
    const wake = new MessageChannel();
    let batch: string[] = [];
    const flush = () => {
      if (batch.length === 0) return;
      channel.postMessage({ t: 'frames', holder, sock, frames: batch } satisfies ToTab);
      batch = [];
    };
    wake.port1.onmessage = flush;
    return {
      open: () => channel.postMessage({ t: 'open', holder, sock } satisfies ToTab),
      frame: (text) => {
        if (batch.push(text) === 1) wake.port2.postMessage(null);
      },
      close: (code, reason) => {
        flush();
        wake.port1.close();
        channel.postMessage({ t: 'close', holder, sock, code, reason } satisfies ToTab);
      },
    };
  }

  readonly #tabChannels = new Map<string, BroadcastChannel>();

  #tabChannel(tab: string): BroadcastChannel {
    let channel = this.#tabChannels.get(tab);
    if (!channel) {
      channel = new this.#platform.BroadcastChannel(`${this.#name}:tab:${tab}`);
      this.#tabChannels.set(tab, channel);
    }
    return channel;
  }
}

const groups = new Map<string, TabGroup>();

/** The group of this tab for a name and URL without its token (one per tab, kept for the tab's life). */
export function tabGroup(platform: TabPlatform, name: string, url: string, WebSocket: WebSocketConstructor): TabGroup {
  const key = `${name}\n${url}`;
  let group = groups.get(key);
  if (!group) {
    group = new TabGroup(platform, name, url, WebSocket);
    groups.set(key, group);
  }
  return group;
}

/**
 * A WebSocket constructor whose sockets share one WebSocket per name and URL (its token aside)
 * across this origin's tabs, and the share it joins; undefined where the browser lacks Web Locks or
 * BroadcastChannel (then each tab connects on its own). Each socket gives the holder its URL, token
 * included: the holder opens with the newest token (docs/tabs.md, "Tokens and tabs").
 */
export function tabSharedWebSocket(
  name: string,
  url: string,
  WebSocket: WebSocketConstructor,
): { WebSocket: WebSocketConstructor; share: TabShare } | undefined {
  const found = tabPlatform();
  if (!found) return undefined;
  const platform: TabPlatform = found;
  const base = urlWithoutToken(url);
  const group = tabGroup(platform, name, base, WebSocket);
  return {
    share: group,
    WebSocket: class SharedTabSocket extends TabSocket {
      constructor(target: string) {
        const targetBase = urlWithoutToken(target);
        super(targetBase === base ? group : tabGroup(platform, name, targetBase, WebSocket), target);
      }
    },
  };
}
