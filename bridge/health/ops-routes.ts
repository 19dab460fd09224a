/**
 * What an operator asks a server over HTTP (docs/operations.md, "Health and readiness"):
 * `/healthz` (the process serves), `/readyz` (its socket server, and Redis where used, answer) and
 * `/metrics` (Prometheus' text format). On the bridge's port beside the routes, or on a port of
 * their own (`--metrics-port`, `serve --http-port`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HELLO_VERB } from '../../src/wire/socket-protocol.js';
import { metrics } from '../metrics/metrics.js';
import { challengeHeaders, NO_TOKEN } from '../relay/access.js';
import { oneShotReply } from '../socket/connect.js';

/** Whether a server can serve now, and why not. */
export interface Readiness {
  ready: boolean;
  /** Why it is not ready (`socket server unreachable (ENOENT)`, `redis store unreachable`, `draining`). */
  reason?: string;
}

/** What the operations routes answer with. */
export interface OpsOptions {
  /** Asks whether the server behind can serve (see {@link askReady}). */
  ready: () => Promise<Readiness>;
  /** True once the process drains: `/readyz` then answers 503 at once. */
  draining?: () => boolean;
  /**
   * Whether `/metrics` is served here, and who may read it: `'open'` on a port of its own, a check
   * that returns true for a request holding the shared token on the bridge's port, or `false`.
   */
  metrics: 'open' | ((request: IncomingMessage, url: URL) => boolean) | false;
}

/** Longest wait for the socket server's answer to `hello` before `/readyz` says it is not ready. */
const READY_TIMEOUT_MS = 2000;

/** The paths answered here. */
export const OPS_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** Answers `/healthz`, `/readyz` and `/metrics` and returns true; false leaves any other request. */
export function answerOps(request: IncomingMessage, response: ServerResponse, url: URL, options: OpsOptions): boolean {
  if (!OPS_PATHS.has(url.pathname)) return false;
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    plain(response, 405, 'Method Not Allowed: use GET\n', { Allow: 'GET, HEAD' });
    return true;
  }
  if (url.pathname === '/healthz') plain(response, 200, 'ok\n');
  else if (url.pathname === '/readyz') void readyz(response, options);
  else void metricsText(request, response, url, options);
  return true;
}

async function readyz(response: ServerResponse, options: OpsOptions): Promise<void> {
  const readiness = options.draining?.() ? { ready: false, reason: 'draining' } : await options.ready();
  if (readiness.ready) plain(response, 200, 'ready\n');
  else plain(response, 503, `not ready: ${readiness.reason ?? 'unknown'}\n`);
}

async function metricsText(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  options: OpsOptions,
): Promise<void> {
  const access = options.metrics;
  if (access === false || metrics === undefined)
    return plain(
      response,
      404,
      'Not Found: no metrics on this port (--metrics serves them here, --metrics-port N apart)\n',
    );
  if (access !== 'open' && !access(request, url)) {
    // Only the shared token reads metrics here: a signed token is no credential for them.
    const headers = challengeHeaders({ status: 401, reason: NO_TOKEN });
    return plain(response, 401, "Unauthorized: /metrics needs the bridge's shared token\n", headers);
  }
  const { text, contentType } = await metrics.scrape();
  plain(response, 200, text, { 'Content-Type': contentType });
}

function plain(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...headers,
  });
  response.end(body);
}

/**
 * Asks the socket server at `socketPath` whether it can serve: its `hello` reply carries its store's
 * state (docs/protocol.md, "Sessions"). A server that answers anything else (eric-sse's
 * `InvalidMessageFormat(…)`) is up, with no store to ask about.
 */
export function askReady(socketPath: string): Promise<Readiness> {
  let socket: Socket | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<Readiness>((resolve) => {
    timer = setTimeout(() => {
      socket?.destroy();
      resolve({ ready: false, reason: 'the socket server did not answer in time' });
    }, READY_TIMEOUT_MS);
  });
  const answered = oneShotReply(socketPath, JSON.stringify({ v: HELLO_VERB }), (connected) => {
    socket = connected;
  }).then(readinessOf, (error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return { ready: false, reason: `the socket server is unreachable (${code})` };
  });
  return Promise.race([answered, late]).finally(() => clearTimeout(timer));
}

function readinessOf(reply: string): Readiness {
  const text = reply.trim();
  if (text === '') return { ready: false, reason: 'the socket server closed without answering' };
  let hello: { store?: { kind?: unknown; ok?: unknown } } | undefined;
  try {
    hello = JSON.parse(text) as typeof hello;
  } catch {
    return { ready: true }; // a server without hello (eric-sse's) answered: it serves
  }
  const store = hello?.store;
  if (store && store.ok === false) return { ready: false, reason: `the ${String(store.kind)} store is unreachable` };
  return { ready: true };
}

/** Serves only the operations routes on `port` (`--metrics-port`, `serve --http-port`); resolves once listening. */
export async function startOpsServer(port: number, host: string, options: OpsOptions): Promise<Server> {
  const server = createServer((request, response) => {
    let url: URL | undefined;
    try {
      url = new URL(request.url ?? '/', 'http://localhost');
    } catch {
      // A target that is not a URL: no route of ours.
    }
    if (!url || !answerOps(request, response, url, options)) plain(response, 404, 'Not Found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.unref();
  return server;
}
