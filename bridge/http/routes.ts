/**
 * The bridge's HTTP face (docs/protocol.md, "The HTTP face"): REST routes for the eight verbs and
 * Server-Sent Events for `l`/`w`, on the bridge's port beside the WebSocket, under the same token,
 * Origin, verb and size checks. Each request is one socket command on its own Unix connection: a
 * pure protocol relay, so eric-sse's Python server works behind it too. It needs nothing but each
 * request and its response, so it serves whatever HTTP server the bridge was given (plain or TLS).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import {
  BackendUnavailable,
  BridgeRefused,
  Forbidden,
  formatException,
  parseException,
  VerbNotAllowed,
} from '../../src/errors.js';
import type { RelayedCommand } from '../../src/wire/bridge-frames.js';
import { isStreamingVerb, type Verb } from '../../src/wire/socket-protocol.js';
import type { AccessGate } from '../access/gate.js';
import { MethodNotAllowed, NoSuchRoute } from '../errors.js';
import { fields, type ServerLogger } from '../log.js';
import { metrics } from '../metrics/metrics.js';
import { type AccessPolicy, challengeHeaders, isAllowedOrigin } from '../relay/access.js';
import type { Backend, Pending } from '../relay/backend.js';
import { discardRest } from '../socket/read-command.js';
import { bodyTooLarge, messageFields, pathCommand, takesMessage } from './request-command.js';
import { SseStream } from './sse-stream.js';

/** What the HTTP face enforces and where it relays. */
export interface HttpFaceOptions {
  /** The socket server's path. */
  socketPath: string;
  /** The socket server, as the bridge reaches it (its commands go on its sessions). */
  backend: Backend;
  /** Token and origins, shared with the WebSocket upgrade. */
  policy: AccessPolicy;
  /** Who may do what: the token of each request, and each command against it. */
  gate: AccessGate;
  /** Verbs this bridge forwards. */
  allow: ReadonlySet<Verb>;
  /** Largest request body accepted, in bytes (the bridge's maximum frame size). */
  maxBodyBytes: number;
  /** Interval of the keep-alive comment on idle event streams, in ms. */
  keepAliveMs: number;
  /** How long an event stream waits for the server's first reply before opening anyway, in ms. */
  sseOpenWaitMs: number;
  /** Where requests are reported. */
  logger: ServerLogger;
}

type Method = 'GET' | 'POST' | 'DELETE';

/** One route: its method, its path (`:c` and `:r` are the channel and listener ids) and its verb. */
interface Route {
  method: Method;
  path: readonly string[];
  verb: Verb;
}

/** The routes, one per verb (docs/protocol.md, "The HTTP face"). */
const ROUTES: readonly Route[] = [
  { method: 'POST', path: ['channels'], verb: 'c' },
  { method: 'POST', path: ['channels', ':c', 'listeners'], verb: 'r' },
  { method: 'POST', path: ['channels', ':c', 'messages'], verb: 'b' },
  { method: 'POST', path: ['channels', ':c', 'listeners', ':r', 'messages'], verb: 'd' },
  { method: 'DELETE', path: ['channels', ':c', 'listeners', ':r'], verb: 'rl' },
  { method: 'DELETE', path: ['channels', ':c'], verb: 'rc' },
  { method: 'GET', path: ['channels', ':c', 'listeners', ':r', 'events'], verb: 'l' },
  { method: 'GET', path: ['channels', ':c', 'events'], verb: 'w' },
];

/** The success status of each plain verb, and whether its reply is a new id or an acknowledgement. */
const SUCCESS: Record<Exclude<Verb, 'l' | 'w'>, { status: number; key: 'id' | 'ok' }> = {
  c: { status: 201, key: 'id' },
  r: { status: 201, key: 'id' },
  b: { status: 202, key: 'ok' },
  d: { status: 202, key: 'ok' },
  rl: { status: 200, key: 'ok' },
  rc: { status: 200, key: 'ok' },
};

/**
 * The status of an error reply, by the error's name; any other name (a fault of the server) is 500.
 * The bridge's own refusals (401/403 `BridgeRefused`, 413) say their status themselves.
 */
const ERROR_STATUS: Record<string, number> = {
  InvalidMessageFormat: 400,
  BridgeRefused: 401,
  VerbNotAllowed: 403,
  Forbidden: 403,
  InvalidChannelException: 404,
  InvalidListenerException: 404,
  NoSuchRoute: 404,
  MethodNotAllowed: 405,
  LimitExceeded: 429,
  BackendUnavailable: 503,
};

/** What a preflight allows: every method of the routes, and the headers a page may set. */
const PREFLIGHT_HEADERS: OutgoingHttpHeaders = {
  'Access-Control-Allow-Methods': 'GET, POST, DELETE',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, Last-Event-ID',
  'Access-Control-Max-Age': '600',
};

/** Answers the HTTP requests whose path starts with `/channels`. */
export class HttpFace {
  readonly #options: HttpFaceOptions;
  /** Open event streams, for the keep-alive ticks and for closing. */
  readonly #streams = new Set<SseStream>();
  /** Plain commands awaiting the server's reply, each with how to answer it if the bridge closes first. */
  readonly #calls = new Map<Pending, () => void>();
  readonly #ticker: ReturnType<typeof setInterval>;
  #closed = false;
  /** Draining: runs once no plain command waits for its reply. */
  #idle: (() => void) | undefined;

  constructor(options: HttpFaceOptions) {
    this.#options = options;
    this.#ticker = setInterval(() => {
      for (const stream of this.#streams) stream.keepAlive();
    }, options.keepAliveMs);
    this.#ticker.unref();
  }

  /** Event streams open now. */
  get streams(): number {
    return this.#streams.size;
  }

  /** Takes the request if its path is one of the routes' (`/channels…`) and returns true; false leaves it. */
  handle(request: IncomingMessage, response: ServerResponse, url: URL): boolean {
    const segments = url.pathname.split('/').slice(1);
    if (segments.at(-1) === '' && segments.length > 1) segments.pop();
    if (segments[0] !== 'channels') return false;
    const from = request.socket.remoteAddress ?? '?';
    // The query may hold the token: only the path is logged.
    response.once('close', () =>
      this.#options.logger.info(
        `bridge: HTTP ${request.method} ${url.pathname} from ${from}: ${response.statusCode}`,
        fields({ connection: `${from}:${request.socket.remotePort ?? '?'}` }),
      ),
    );
    this.#serve(request, response, url, segments).catch((error: unknown) => {
      this.#options.logger.error(`HTTP ${request.method} ${url.pathname}: ${(error as Error).message}`);
      const internal = Object.assign(new Error('Internal bridge error'), { name: 'Exception' });
      if (!response.headersSent) reply(response, 500, { error: formatException(internal) }, {});
      else response.destroy();
    });
    return true;
  }

  /**
   * The bridge drains (docs/bridge.md, "Draining a bridge"): every event stream ends (its client
   * reconnects, to another bridge); resolves once the plain commands in flight are answered.
   */
  drain(): Promise<void> {
    for (const stream of this.#streams) stream.close();
    return new Promise((resolve) => {
      this.#idle = resolve;
      if (this.#calls.size === 0) resolve();
    });
  }

  /** Ends every event stream and answers every waiting request (503); later requests get 503 too. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#ticker);
    for (const stream of this.#streams) stream.close();
    for (const [call, answer] of this.#calls) {
      call.cancel();
      answer();
    }
    this.#calls.clear();
  }

  async #serve(request: IncomingMessage, response: ServerResponse, url: URL, segments: string[]): Promise<void> {
    const { policy } = this.#options;
    const origin = request.headers.origin;
    const allowedOrigin = origin !== undefined && isAllowedOrigin(origin, policy);
    const cors: OutgoingHttpHeaders = allowedOrigin
      ? { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': 'Location', Vary: 'Origin' }
      : { Vary: 'Origin' };
    const fail = (error: Error | string, status?: number, extra: OutgoingHttpHeaders = {}) => {
      const text = typeof error === 'string' ? error : formatException(error);
      // A body not read yet is discarded: replying over it unread would reset the connection.
      request.resume();
      reply(response, status ?? statusOf(text), { error: text }, { ...cors, ...extra });
    };

    // A preflight carries no token (browsers never send credentials with one): judged by its origin.
    if (request.method === 'OPTIONS') {
      if (origin !== undefined && !allowedOrigin)
        return fail(new BridgeRefused(`origin ${origin} is not allowed`), 403);
      return void response.writeHead(204, { ...cors, ...PREFLIGHT_HEADERS }).end();
    }
    const admitted = await this.#options.gate.admit(request, url);
    if ('status' in admitted) {
      metrics?.refusal(admitted.status === 401 ? 'token' : 'origin');
      return fail(new BridgeRefused(admitted.reason), admitted.status, challengeHeaders(admitted));
    }
    if (this.#closed) return fail(new BackendUnavailable('The bridge is shutting down'));

    const matches = ROUTES.filter((route) => route.path.length === segments.length && matchesPath(route, segments));
    const path = url.pathname;
    if (matches.length === 0) return fail(new NoSuchRoute(`No route for ${path}`));
    const route = matches.find((r) => r.method === request.method);
    if (!route) {
      const allowed = matches.map((r) => r.method).join(', ');
      return fail(new MethodNotAllowed(`${request.method} ${path}: use ${allowed}`), 405, { Allow: allowed });
    }
    if (!this.#options.allow.has(route.verb)) {
      metrics?.refusal('verb');
      return fail(new VerbNotAllowed(`this bridge does not allow ${request.method} ${path} (verb "${route.verb}")`));
    }

    let command: RelayedCommand;
    try {
      command = pathCommand(route.verb, route.path, segments);
    } catch (error) {
      return fail(error as Error);
    }
    if (request.method === 'POST') {
      const body = await readBody(request, this.#options.maxBodyBytes);
      if (body === 'gone') return;
      if (body === 'too large') {
        // The rest of the body is read and discarded (within a bound) before the reply: a reply
        // over a body still coming in, then the close, would reset the connection under the
        // client's write, and it would see ECONNRESET instead of its 413.
        if ((await discardRest(request, DRAIN_LIMIT_BYTES, DRAIN_LIMIT_MS)) === 'gone') return;
        return fail(bodyTooLarge(this.#options.maxBodyBytes), 413, { Connection: 'close' });
      }
      if (takesMessage(route.verb)) {
        try {
          Object.assign(command, messageFields(body));
        } catch (error) {
          return fail(error as Error);
        }
      }
    }

    const verdict = this.#options.gate.authorize(admitted, command);
    const refused = verdict instanceof Promise ? await verdict.catch((error: Error) => error) : verdict;
    if (refused) {
      if (refused instanceof Forbidden) metrics?.refusal('forbidden');
      return fail(refused);
    }

    if (isStreamingVerb(route.verb)) {
      const lastEventId = request.headers['last-event-id'] || url.searchParams.get('lastEventId');
      if (typeof lastEventId === 'string' && lastEventId !== '') command.i = lastEventId;
      const expiresAt = admitted.kind === 'token' ? admitted.expiresAt : undefined;
      return this.#stream(response, command, cors, fail, expiresAt);
    }
    this.#relay(response, route, command, cors, fail);
  }

  #stream(
    response: ServerResponse,
    command: RelayedCommand,
    headers: OutgoingHttpHeaders,
    fail: (error: string) => void,
    expiresAt: number | undefined,
  ): void {
    const stream: SseStream = new SseStream(response, command, {
      socketPath: this.#options.socketPath,
      headers,
      ...(expiresAt === undefined ? {} : { expiresAt }),
      openWaitMs: this.#options.sseOpenWaitMs,
      fail,
      done: () => this.#streams.delete(stream),
    });
    this.#streams.add(stream);
  }

  #relay(
    response: ServerResponse,
    route: Route,
    command: RelayedCommand,
    headers: OutgoingHttpHeaders,
    fail: (error: string) => void,
  ): void {
    // The bridge's hop, measured only while metrics are on.
    const since = metrics === undefined ? undefined : performance.now();
    const settle = () => {
      if (!this.#calls.delete(call)) return;
      if (since !== undefined) metrics?.latency('bridge', since);
      if (this.#calls.size === 0) this.#idle?.();
    };
    const call = this.#options.backend.send(command, false, {
      reply: (text) => {
        settle();
        this.#options.gate.learn(command, text);
        const { status, key } = SUCCESS[route.verb as keyof typeof SUCCESS];
        const location = key === 'id' ? { Location: locationOf(command, text) } : {};
        reply(response, status, { [key]: text }, { ...headers, ...location });
      },
      error: (text) => {
        settle();
        fail(text);
      },
      lines: () => {},
      end: () => {},
    });
    // The command was sent and may have run: a bridge that closes first says so.
    this.#calls.set(call, () => fail(formatException(new BackendUnavailable('The bridge closed before the reply'))));
    // A client that goes away does not wait for the reply (the command may still run: it was sent).
    response.once('close', () => {
      if (!response.writableFinished) call.cancel();
      settle();
    });
  }
}

/** The status of an error reply `Name('detail')`. */
function statusOf(text: string): number {
  return ERROR_STATUS[parseException(text)?.name ?? ''] ?? 500;
}

function matchesPath(route: Route, segments: readonly string[]): boolean {
  return route.path.every((part, i) => part.startsWith(':') || part === segments[i]);
}

/** Where a new channel or listener lives: `/channels/1`, `/channels/1/listeners/2`. */
function locationOf(command: RelayedCommand, id: string): string {
  const channel = command.v === 'c' ? id : String(command.c);
  const base = `/channels/${encodeURIComponent(channel)}`;
  return command.v === 'c' ? base : `${base}/listeners/${encodeURIComponent(id)}`;
}

/**
 * Reads a request body of at most `limit` bytes: 'too large' as soon as it is known to be
 * larger (by `Content-Length` or by counting), 'gone' if the client left first.
 */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too large' | 'gone'> {
  const declared = Number(request.headers['content-length']);
  if (declared > limit) return Promise.resolve('too large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      request.off('data', onData);
      request.pause();
      resolve('too large');
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('close', () => resolve('gone'));
    request.once('error', () => resolve('gone'));
  });
}

/** Most bytes of an oversized body read and discarded before its 413 (past it, the connection is cut). */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;
/** Longest wait for the rest of an oversized body before its 413. */
const DRAIN_LIMIT_MS = 10_000;

/** A JSON reply. */
function reply(response: ServerResponse, status: number, body: object, headers: OutgoingHttpHeaders): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  response.end(text);
}
