import { log } from '../log.js';
import {
  AUTH_VERB,
  CANCEL_VERB,
  CREDIT_VERB,
  DATA_FRAME_END,
  dataFramePrefix,
  type FrameId,
  frameText,
  isFrameId,
  parseReplyFrame,
  type ReplyFrame,
  readDataFrame,
  TOKEN_EXPIRED_CLOSE,
} from '../wire/bridge-frames.js';
import { handleSocket, type WebSocketConstructor, type WebSocketLike } from '../wire/websocket-like.js';
import { SharedToken } from './shared-token.js';

/**
 * One client's end of a {@link SocketHub}: a WebSocket as a `BridgeClient` sees it, in this tab or
 * in another. The hub calls it when the shared WebSocket opens, for each frame of this client's
 * (its own ids already put back), and when the shared WebSocket closes.
 */
export interface HubPort {
  /** The shared WebSocket is open: the client may send. */
  open(): void;
  /** A frame from the bridge for this client. */
  frame(text: string): void;
  /** The shared WebSocket closed (or failed to open); the port is detached. */
  close(code: number, reason: string): void;
}

/** Where a frame from the bridge goes: the port and the id its client gave the frame. */
interface Route {
  readonly key: string;
  readonly id: FrameId;
}

interface Attached {
  readonly port: HubPort;
  /** The port's own frame ids, and the hub's for each of them on the shared WebSocket. */
  readonly ids: Map<FrameId, number>;
  opened: boolean;
}

const OPEN = 1;

/**
 * One WebSocket to the bridge shared by many clients (docs/tabs.md, "How tabs share"). Each client
 * numbers its frames as it likes; the hub gives every command its own id on the shared WebSocket
 * and puts the client's back on each reply, so replies and stream events reach the client that
 * asked, and `cancel` and `credit` frames reach the bridge under the hub's id. A client that
 * detaches has its streams cancelled. The WebSocket opens when the first client attaches, closes
 * when the last detaches, and when it drops every client is told, as a WebSocket's own close
 * would: each then reconnects (and resumes its streams) in its own time, through the hub again.
 * With signed tokens, it opens with the newest token a client gave ({@link SharedToken}).
 */
export class SocketHub {
  readonly #token: SharedToken;
  readonly #WebSocket: WebSocketConstructor;
  readonly #ports = new Map<string, Attached>();
  readonly #routes = new Map<number, Route>();
  /** The tokens of `auth` frames sent, by the hub's id, until the bridge answers. */
  readonly #auths = new Map<number, string>();
  #socket: WebSocketLike | null = null;
  #nextId = 1;
  /** How many WebSockets this hub has opened (for tests and the demo). */
  opened = 0;

  constructor(url: string, WebSocket: WebSocketConstructor) {
    this.#token = new SharedToken(url);
    this.#WebSocket = WebSocket;
  }

  /** How many clients are attached. */
  get size(): number {
    return this.#ports.size;
  }

  /** The keys of the attached clients that start with `prefix`. */
  keysOf(prefix: string): string[] {
    return [...this.#ports.keys()].filter((key) => key.startsWith(prefix));
  }

  /**
   * Attaches a client under `key` (again: a no-op); it is told `open` once the shared WebSocket is.
   * `url` is the one the client would have connected to, its current token included: offered as the
   * token to open with; a client whose token has expired is closed at once with 4401, as the bridge
   * would, so that it fetches a fresh one (docs/tabs.md, "Tokens and tabs").
   */
  attach(key: string, port: HubPort, url?: string): void {
    if (this.#ports.has(key)) return;
    if (url !== undefined) {
      if (this.#token.isExpired(url)) return port.close(TOKEN_EXPIRED_CLOSE, 'token expired');
      this.#token.offer(url);
    }
    const attached: Attached = { port, ids: new Map(), opened: false };
    this.#ports.set(key, attached);
    if (this.#socket?.readyState === OPEN) this.#welcome(attached);
    else if (!this.#socket) this.#open();
  }

  /** Sends a client's frame under the hub's id for it; a frame of a detached client is dropped. */
  send(key: string, text: string): void {
    const attached = this.#ports.get(key);
    const socket = this.#socket;
    if (!attached?.opened || socket?.readyState !== OPEN) return;
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return log().warn('eric-bus: a tab sent a frame that is not JSON:', text);
    }
    const { id } = frame;
    if (!isFrameId(id)) return;
    if (frame.v === CANCEL_VERB || frame.v === CREDIT_VERB) {
      const hubId = attached.ids.get(id);
      if (hubId === undefined) return; // the stream ended meanwhile
      if (frame.v === CANCEL_VERB) this.#forget(attached, id, hubId);
      socket.send(frameText(hubId, withoutId(frame)));
      return;
    }
    const hubId = this.#nextId++;
    if (frame.v === AUTH_VERB && typeof frame.token === 'string') this.#auths.set(hubId, frame.token);
    attached.ids.set(id, hubId);
    this.#routes.set(hubId, { key, id });
    socket.send(frameText(hubId, withoutId(frame)));
  }

  /** Detaches a client: its open streams are cancelled on the bridge; with no client left, the WebSocket closes. */
  detach(key: string): void {
    const attached = this.#ports.get(key);
    if (!attached) return;
    this.#ports.delete(key);
    const socket = this.#socket;
    for (const [id, hubId] of attached.ids) {
      this.#forget(attached, id, hubId);
      if (socket?.readyState === OPEN) socket.send(frameText(hubId, { v: CANCEL_VERB }));
    }
    if (this.#ports.size === 0) this.#drop(1000, 'no client left');
  }

  /** Closes the shared WebSocket; every client is told, as when it drops. */
  close(code = 1000, reason = 'closed'): void {
    this.#drop(code, reason);
  }

  #open(): void {
    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(this.#token.open());
    } catch (error) {
      return this.#closed(1006, `Cannot open a WebSocket: ${(error as Error).message}`);
    }
    this.opened++;
    this.#socket = socket;
    let opened = false;
    handleSocket(socket, () => this.#socket === socket, {
      open: () => {
        opened = true;
        for (const attached of [...this.#ports.values()]) if (!attached.opened) this.#welcome(attached);
      },
      text: (data) => this.#receive(data),
      close: (code, reason) => {
        this.#socket = null;
        if (code === TOKEN_EXPIRED_CLOSE) this.#token.expired();
        else if (!opened) this.#token.failed();
        this.#closed(code, reason);
      },
    });
  }

  #welcome(attached: Attached): void {
    attached.opened = true;
    attached.port.open();
  }

  /** A frame from the bridge, to the client whose command it answers, under that client's id. */
  #receive(text: string): void {
    const data = readDataFrame(text);
    if (data) {
      const route = this.#routes.get(data.id);
      if (route) this.#ports.get(route.key)?.port.frame(dataFramePrefix(route.id) + data.event + DATA_FRAME_END);
      return;
    }
    const frame = parseReplyFrame(text);
    if (!frame) return log().warn('eric-bus: ignoring a frame that is not in the bridge envelope:', text);
    if (frame.id === null || typeof frame.id !== 'number')
      return log().warn('eric-bus: the bridge rejected a frame:', text);
    this.#answered(frame);
    const route = this.#routes.get(frame.id);
    if (!route) return;
    const attached = this.#ports.get(route.key);
    // Anything but an event ends what the id stood for: a reply, a stream's end or error.
    if (!('data' in frame)) {
      this.#routes.delete(frame.id);
      attached?.ids.delete(route.id);
    }
    attached?.port.frame(frameText(route.id, withoutId(frame)));
  }

  /** A reply to an `auth`: a token the bridge took is the one the WebSocket carries now. */
  #answered(frame: ReplyFrame): void {
    const token = this.#auths.get(frame.id as number);
    if (token === undefined || 'data' in frame) return;
    this.#auths.delete(frame.id as number);
    if ('ok' in frame) this.#token.authed(token);
  }

  #forget(attached: Attached, id: FrameId, hubId: number): void {
    attached.ids.delete(id);
    this.#routes.delete(hubId);
  }

  #drop(code: number, reason: string): void {
    const socket = this.#socket;
    this.#socket = null;
    if (socket && socket.readyState <= OPEN) socket.close(code, reason);
    this.#closed(code, reason);
  }

  /** The shared WebSocket is gone: every attached client is told and detached. */
  #closed(code: number, reason: string): void {
    this.#routes.clear();
    this.#auths.clear();
    const ports = [...this.#ports.values()];
    this.#ports.clear();
    for (const { port } of ports) port.close(code, reason);
  }
}

/** A frame's members but its id, to write under another id. */
function withoutId(frame: object): Record<string, unknown> {
  const { id: _id, ...rest } = frame as Record<string, unknown>;
  return rest;
}
