/**
 * The WebSocket bridge: a `ws` server whose connections each drive the socket server through
 * the frame envelope (docs/protocol.md, "The bridge's frames"), and on the same port the HTTP face
 * (REST and Server-Sent Events; docs/protocol.md, "The HTTP face"). Token, origin, verbs, frame
 * size and streams per connection are checked; heartbeats reap dead peers; closing a WebSocket
 * closes every Unix connection it opened.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { silentLogger } from '../../src/log.js';
import { VERBS, type Verb } from '../../src/wire/socket-protocol.js';
import { AccessGate, type Principal } from '../access/gate.js';
import { type JwtOptions, TokenVerifier } from '../access/tokens.js';
import { answerOps, askReady, type OpsOptions } from '../health/ops-routes.js';
import { HttpFace } from '../http/routes.js';
import { fields, type ServerLogger } from '../log.js';
import { metrics } from '../metrics/metrics.js';
import { loadWs } from '../peers.js';
import {
  type AccessPolicy,
  challengeHeaders,
  generateToken,
  MALFORMED_TARGET,
  type Refusal,
  requestUrl,
} from '../relay/access.js';
import { Backend } from '../relay/backend.js';
import { InFlightLimit } from '../relay/in-flight.js';
import { DEFAULT_DRAIN_MS } from '../signals.js';
import type { SocketServer } from '../socket/server.js';
import { BridgeSession, type SessionOptions } from './session.js';

/** Options of {@link WebSocketBridge.start}. */
export interface BridgeOptions {
  /** The socket server's path (ours or any server of the protocol). */
  socketPath: string;
  /**
   * The socket server, when it runs in this process (as `startUp` has it): the bridge's sessions to
   * it then go on in-process connections, not through the kernel; streams still use `socketPath`.
   */
  localServer?: SocketServer;
  /** TCP port; 0 (the default) picks a free one, see {@link WebSocketBridge.port}. */
  port?: number;
  /** Interface to listen on (`127.0.0.1`). */
  host?: string;
  /** The shared token; generated when absent (see {@link WebSocketBridge.token}). */
  token?: string;
  /**
   * Allowed `Origin`s (`*`: any); by default localhost, 127.0.0.1 and [::1] on any port. The bridge's
   * own origin is always allowed.
   */
  origins?: readonly string[];
  /** Verbs forwarded to the server (all of them by default); others get a `VerbNotAllowed` error frame. */
  allow?: readonly Verb[];
  /** Largest frame accepted from a client, in bytes (1 MiB); a larger one closes that WebSocket with code 1009. */
  maxFrameBytes?: number;
  /** Streams one WebSocket may have open at once (100); more get a `TooManyStreams` error frame. */
  maxStreams?: number;
  /**
   * Commands one WebSocket may have in flight on the socket server at once (32), each on its own
   * Unix connection; later ones wait their turn in order, and while many wait, its frames are not read.
   */
  maxInFlight?: number;
  /** Commands the whole bridge may have in flight at once (256); the rest wait their turn in order. */
  maxInFlightTotal?: number;
  /** Interval between heartbeat pings, in ms (30 000); a peer that missed the previous pong is dropped. */
  heartbeatMs?: number;
  /** Interval of the comment line that keeps an idle Server-Sent Events stream open, in ms (15 000). */
  sseKeepAliveMs?: number;
  /**
   * How long a Server-Sent Events response waits for the socket server's first reply before it
   * opens (status 200) anyway, in ms (250): an error reply within it gets its own status (404…).
   */
  sseOpenWaitMs?: number;
  /** Where connections and refusals are reported (silent by default). */
  logger?: ServerLogger;
  /** A certificate and its private key (PEM): the bridge then serves `wss://` and `https://` only. */
  tls?: BridgeTls;
  /**
   * Serve `/metrics` on this port behind the token, once metrics are on (true); false when they have
   * a port of their own (`--metrics-port`).
   */
  metricsOnPort?: boolean;
  /**
   * Signed tokens (JWT) that grant a client only some channels and verbs, checked with this key
   * file; the shared token still grants everything (docs/security.md, "Scoped tokens").
   */
  jwt?: JwtOptions;
}

/** The bridge's TLS identity: PEM text (or its bytes) of a certificate chain and its private key. */
export interface BridgeTls {
  cert: string | Buffer;
  key: string | Buffer;
}

/** Largest client frame accepted by default (1 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
/** Open streams allowed per WebSocket by default. */
export const DEFAULT_MAX_STREAMS = 100;
/** Commands in flight per WebSocket by default. */
export const DEFAULT_MAX_IN_FLIGHT = 32;
/** Commands in flight across the bridge by default. */
export const DEFAULT_MAX_IN_FLIGHT_TOTAL = 256;
/** Interval of heartbeat pings; a peer that missed the last pong is dropped. */
export const DEFAULT_HEARTBEAT_MS = 30_000;
/** Interval of the keep-alive comment on idle Server-Sent Events streams. */
export const DEFAULT_SSE_KEEP_ALIVE_MS = 15_000;
/** How long a Server-Sent Events response waits for the server's first reply before opening anyway. */
export const DEFAULT_SSE_OPEN_WAIT_MS = 250;
/** What closing takes at most once draining is over: the WebSockets' closing handshakes. */
const CLOSE_MARGIN_MS = 1500;

interface Peer {
  session: BridgeSession;
  alive: boolean;
}

/** A WebSocket server that relays each command frame to the socket server over its own Unix connection. */
export class WebSocketBridge {
  /** The socket server's socket file. */
  readonly socketPath: string;
  /** The interface it listens on. */
  readonly host: string;
  /** The TCP port it listens on. */
  readonly port: number;
  /** The token clients must present. */
  readonly token: string;
  readonly #http: Server;
  readonly #face: HttpFace;
  readonly #backend: Backend;
  readonly #verifier: TokenVerifier | undefined;
  readonly #peers = new Map<WebSocket, Peer>();
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #secure: boolean;
  #closing: Promise<void> | undefined;
  #draining = false;
  #unmeter: (() => void) | undefined;

  private constructor(
    http: Server,
    face: HttpFace,
    options: Required<Pick<BridgeOptions, 'socketPath' | 'host' | 'token' | 'heartbeatMs'>> & {
      port: number;
      secure: boolean;
      backend: Backend;
      verifier: TokenVerifier | undefined;
    },
  ) {
    this.#http = http;
    this.#face = face;
    this.#backend = options.backend;
    this.#verifier = options.verifier;
    this.#secure = options.secure;
    this.socketPath = options.socketPath;
    this.host = options.host;
    this.port = options.port;
    this.token = options.token;
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs);
    this.#heartbeat.unref();
    this.#unmeter = metrics?.addSource(() => {
      let streams = 0;
      for (const peer of this.#peers.values()) streams += peer.session.streams;
      return {
        connections: { websocket: this.#peers.size, sse: this.#face.streams },
        streams: { websocket: streams, sse: this.#face.streams },
      };
    });
  }

  /**
   * Starts a bridge and resolves once it listens. Rejects with a {@link StartError} when ws, an
   * optional peer dependency, is not installed (`The bridge needs ws: npm install ws`).
   */
  static async start(options: BridgeOptions): Promise<WebSocketBridge> {
    const { WebSocketServer } = await loadWs('The bridge');
    const host = options.host ?? '127.0.0.1';
    const token = options.token ?? generateToken();
    if (token === '') throw new Error('The bridge token may not be empty');
    const allow = new Set(options.allow ?? VERBS);
    const logger = options.logger ?? silentLogger;
    const local = options.localServer;
    const verifier = options.jwt ? await TokenVerifier.start(options.jwt) : undefined;
    const backend = new Backend(options.socketPath, local ? () => local.connectInProcess() : undefined);
    const policy: AccessPolicy = { token, ownOrigin: '', ...(options.origins ? { origins: options.origins } : {}) };
    const gate = new AccessGate(policy, verifier, backend);
    const sessionOptions: SessionOptions = {
      socketPath: options.socketPath,
      backend,
      allow,
      maxStreams: options.maxStreams ?? DEFAULT_MAX_STREAMS,
      maxInFlight: options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      inFlight: new InFlightLimit(options.maxInFlightTotal ?? DEFAULT_MAX_IN_FLIGHT_TOTAL),
      logger,
      gate,
    };

    const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    const face = new HttpFace({
      socketPath: options.socketPath,
      backend,
      policy,
      gate,
      allow,
      maxBodyBytes: maxFrameBytes,
      keepAliveMs: options.sseKeepAliveMs ?? DEFAULT_SSE_KEEP_ALIVE_MS,
      sseOpenWaitMs: options.sseOpenWaitMs ?? DEFAULT_SSE_OPEN_WAIT_MS,
      logger,
    });
    let bridge: WebSocketBridge | undefined;
    const ops: OpsOptions = {
      ready: () => askReady(options.socketPath),
      draining: () => bridge?.draining ?? false,
      metrics: options.metricsOnPort === false ? false : (request, url) => gate.holdsSharedToken(request, url),
    };
    // Health, readiness and metrics first (docs/operations.md); the HTTP face takes the routes under
    // /channels; any other plain request gets the upgrade's answer. Whatever a request holds, it gets
    // an answer: nothing it sends may throw past it and end the bridge.
    const onRequest = (request: IncomingMessage, response: ServerResponse) => {
      const failed = (error: unknown) => {
        logger.error(
          `bridge: HTTP ${request.method} failed: ${error instanceof Error ? error.message : String(error)}`,
        );
        if (response.headersSent) response.destroy();
        else response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Internal bridge error\n');
      };
      try {
        const url = requestUrl(request);
        if (url === undefined) return answerPlainRequest(request, response, MALFORMED_TARGET);
        if (answerOps(request, response, url, ops)) return;
        if (bridge?.draining) {
          metrics?.refusal('draining');
          return answerPlainRequest(request, response, DRAINING);
        }
        if (!face.handle(request, response, url))
          gate
            .admit(request, url)
            .then((admitted) => answerPlainRequest(request, response, refusalOf(admitted)), failed);
      } catch (error) {
        failed(error);
      }
    };
    // With TLS the same server speaks HTTPS: WebSocket upgrades and plain requests alike.
    const http: Server = options.tls
      ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest)
      : createServer(onRequest);
    http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => {});
      const failed = (error: unknown) => {
        logger.error(`bridge: an upgrade failed: ${error instanceof Error ? error.message : String(error)}`);
        socket.destroy();
      };
      const refuse = (why: Answer) => {
        const from = `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? '?'}`;
        metrics?.refusal(why === DRAINING ? 'draining' : why.status === 401 ? 'token' : 'origin');
        logger.info(`bridge: refused a WebSocket from ${from}: ${why.reason}`, fields({ connection: from }));
        refuseUpgrade(socket, why);
      };
      const upgrade = (admitted: Principal | Refusal) => {
        const open = bridge;
        // A bridge that is going says so first, as to a plain request: the client moves on either way.
        if (!open || open.#closing !== undefined || open.#draining) return refuse(DRAINING);
        const refusal = refusalOf(admitted);
        if (refusal) return refuse(refusal);
        const principal = admitted as Principal;
        wss.handleUpgrade(request, socket, head, (ws) => open.#accept(ws, socket as Socket, sessionOptions, principal));
      };
      try {
        const url = requestUrl(request);
        if (url === undefined) return upgrade(MALFORMED_TARGET);
        gate.admit(request, url).then(upgrade).catch(failed);
      } catch (error) {
        failed(error);
      }
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, host, () => {
        http.off('error', reject);
        resolve();
      });
    }).catch(async (error: unknown) => {
      face.close();
      await backend.close();
      throw error;
    });
    const port = (http.address() as { port: number }).port;
    bridge = new WebSocketBridge(http, face, {
      socketPath: options.socketPath,
      host,
      port,
      token,
      heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      secure: options.tls !== undefined,
      backend,
      verifier,
    });
    policy.ownOrigin = `${bridge.#secure ? 'https' : 'http'}://${bridge.#hostForUrl()}:${port}`;
    logger.info(`bridge: listening on ${bridge.#urlWith('…')}, forwarding to ${options.socketPath}`);
    return bridge;
  }

  /** The URL to give clients, token included: `ws://127.0.0.1:8765/?token=…` (`wss://` with TLS). */
  get url(): string {
    return this.#urlWith(encodeURIComponent(this.token));
  }

  /** The URL with `token` as it is (the log writes `…` there, whatever the token shares with the rest). */
  #urlWith(token: string): string {
    return `${this.#secure ? 'wss' : 'ws'}://${this.#hostForUrl()}:${this.port}/?token=${token}`;
  }

  /**
   * Rereads `jwt.keyFile` (SIGHUP with `--jwt-key`): tokens are checked against its keys from now
   * on. Rejects, keeping the old keys, when the file cannot be used; and when the bridge takes no
   * signed tokens.
   */
  async reloadKeys(): Promise<void> {
    if (!this.#verifier) throw new Error('This bridge takes no signed tokens (no jwt option)');
    await this.#verifier.reload();
  }

  /** Open WebSockets. */
  get connections(): number {
    return this.#peers.size;
  }

  /**
   * Stops listening, ends every event stream, closes every WebSocket (code 1001) and every Unix
   * connection they opened.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /**
   * Drains, then closes (docs/bridge.md, "Draining a bridge"): new WebSockets and requests get 503
   * and `/readyz` too, while `/healthz` stays 200; each WebSocket stream ends with
   * `{"id": …, "end": true, "reconnect": true}` and each Server-Sent Events stream closes, so that
   * clients resume them on another bridge; commands in flight are answered. It closes once every
   * WebSocket has let go and no command waits, or `deadlineMs` (less the time closing takes) has
   * passed, whichever comes first.
   */
  async drain(deadlineMs = DEFAULT_DRAIN_MS): Promise<void> {
    if (this.#closing) return this.#closing;
    if (!this.#draining) {
      this.#draining = true;
      const idle = Promise.all([
        this.#face.drain(),
        ...[...this.#peers].map(
          ([ws, peer]) =>
            new Promise<void>((resolve) => {
              ws.once('close', () => resolve());
              peer.session.drain(() => {
                // Nothing in flight: the client has moved its streams; its WebSocket may go.
                ws.close(1001, 'Bridge draining');
                resolve();
              });
            }),
        ),
      ]);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, deadlineMs - CLOSE_MARGIN_MS));
      });
      await Promise.race([idle, deadline]);
      clearTimeout(timer);
    }
    return this.close();
  }

  /** True once {@link drain} was called. */
  get draining(): boolean {
    return this.#draining;
  }

  async #shutdown(): Promise<void> {
    this.#unmeter?.();
    clearInterval(this.#heartbeat);
    this.#face.close();
    const closed = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    const sockets = [...this.#peers.keys()];
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise<void>((resolve) => {
            this.#peers.get(ws)?.session.close();
            ws.once('close', () => resolve());
            ws.close(1001, 'Bridge shutting down');
            // A peer that does not answer the closing handshake is cut off.
            setTimeout(() => ws.terminate(), 1000).unref();
          }),
      ),
    );
    this.#http.closeAllConnections();
    await closed;
    await this.#backend.close();
  }

  #accept(ws: WebSocket, tcp: Socket, options: SessionOptions, principal: Principal): void {
    const logger = options.logger;
    const peer: Peer = { session: new BridgeSession(ws, tcp, options, principal), alive: true };
    const from = `${tcp.remoteAddress ?? '?'}:${tcp.remotePort ?? '?'}`;
    this.#peers.set(ws, peer);
    const about = fields({ connection: from });
    logger.info(`bridge: accepted a WebSocket from ${from} (${this.#peers.size} open)`, about);
    ws.on('pong', () => (peer.alive = true));
    ws.on('error', (error) => logger.info(`bridge: WebSocket error: ${error.message}`));
    ws.once('close', (code) => {
      logger.info(`bridge: WebSocket from ${from} closed (${code})`, about);
      peer.session.close();
      this.#peers.delete(ws);
    });
  }

  #beat(): void {
    for (const [ws, peer] of this.#peers) {
      if (!peer.alive) {
        ws.terminate();
        continue;
      }
      peer.alive = false;
      ws.ping();
    }
  }

  #hostForUrl(): string {
    return this.host.includes(':') ? `[${this.host}]` : this.host;
  }
}

/**
 * Plain HTTP on the bridge's port: 426 (use a WebSocket) once the checks pass, else 401/403.
 * Readable from any page (CORS), so a browser client can tell a refusal from an outage; the
 * origin is checked before the token, so a foreign page learns nothing about the token.
 */
function answerPlainRequest(request: IncomingMessage, response: ServerResponse, refusal: Answer | undefined): void {
  const cors = { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-store' };
  // A preflight is judged by its origin alone, but one whose target is not a URL is not a preflight.
  if (request.method === 'OPTIONS' && refusal !== MALFORMED_TARGET) {
    response.writeHead(204, { ...cors, 'Access-Control-Allow-Methods': 'GET' }).end();
    return;
  }
  const status = refusal?.status ?? 426;
  response.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    ...cors,
    ...(refusal ? challengeHeaders(refusal) : {}),
    ...(refusal ? {} : { Upgrade: 'websocket' }),
  });
  response.end(
    refusal
      ? `${STATUS_CODES[status]}: ${refusal.reason}\n`
      : 'This is an eric-bus WebSocket bridge: connect with a WebSocket.\n',
  );
}

/** What a draining bridge answers new WebSockets and requests. */
const DRAINING: Answer = { status: 503, reason: 'draining: connect to another bridge' };

/** A refusal, or the draining bridge's 503. */
type Answer = Omit<Refusal, 'status'> & { status: Refusal['status'] | 503 };

/** The refusal among an admission's outcomes, or undefined when it admitted someone. */
function refusalOf(admitted: Principal | Refusal): Refusal | undefined {
  return 'status' in admitted ? admitted : undefined;
}

function refuseUpgrade(socket: Duplex, refusal: Answer): void {
  const body = `${STATUS_CODES[refusal.status]}: ${refusal.reason}\n`;
  const head = [
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(challengeHeaders(refusal)).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
