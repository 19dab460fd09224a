/**
 * The bridge's shared token and its allowed origins, as every face checks them (bridge/access/gate.ts
 * judges a request with them, then a signed token if it is one).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A random token for a bridge started without one: 192 bits, URL-safe. */
export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

/** What the upgrade is checked against. */
export interface AccessPolicy {
  /** The shared token. */
  token: string;
  /**
   * Allowed `Origin` values (`*` for any). Undefined: the default, localhost / 127.0.0.1 /
   * [::1] on any port. The bridge's own origin is always allowed.
   */
  origins?: readonly string[];
  /** The bridge's own origin, `http://host:port`. */
  ownOrigin: string;
}

/** Why a request is refused: the HTTP status and a one-line reason. */
export interface Refusal {
  status: 400 | 401 | 403;
  reason: string;
}

/**
 * The URL of a request's target, or undefined when the target is not a URL: a client may send
 * any bytes there (`GET http://[/ HTTP/1.1`, a port past 65535), and such a request gets a 400,
 * never an exception that would end the bridge.
 */
export function requestUrl(request: IncomingMessage): URL | undefined {
  try {
    return new URL(request.url ?? '/', 'http://bridge');
  } catch {
    return undefined;
  }
}

/** The reason of the refusal of a request that carries no token. */
export const NO_TOKEN = 'no token';

/**
 * The headers a refusal's reply carries: a 401 names the scheme that would be taken (RFC 9110 asks
 * every 401 for a `WWW-Authenticate`; this is RFC 6750's Bearer, `error="invalid_token"` when a
 * token was given and refused). Other statuses carry none.
 */
export function challengeHeaders(refusal: { status: number; reason: string }): Record<string, string> {
  if (refusal.status !== 401) return {};
  const error = refusal.reason === NO_TOKEN ? '' : ', error="invalid_token"';
  return { 'WWW-Authenticate': `Bearer realm="eric-bus"${error}` };
}

/** The refusal of a request whose target is not a URL. */
export const MALFORMED_TARGET: Refusal = { status: 400, reason: 'the request target is not a valid URL' };

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The refusal (403) of a request whose `Origin` is not allowed; none without an `Origin`. */
export function checkOrigin(request: IncomingMessage, policy: AccessPolicy): Refusal | undefined {
  const origin = request.headers.origin;
  if (origin !== undefined && !isAllowedOrigin(origin, policy))
    return { status: 403, reason: `origin ${origin} is not allowed` };
  return undefined;
}

/** True when a page of `origin` may connect. */
export function isAllowedOrigin(origin: string, policy: AccessPolicy): boolean {
  const normalized = normalizeOrigin(origin);
  if (normalized === undefined) return false;
  if (normalized === normalizeOrigin(policy.ownOrigin)) return true;
  if (policy.origins === undefined) return LOOPBACK_HOSTS.has(new URL(normalized).hostname);
  return policy.origins.some((allowed) => allowed === '*' || normalizeOrigin(allowed) === normalized);
}

function normalizeOrigin(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The token from `?token=` or `Authorization: Bearer …`: all that follows `Bearer`, trimmed. A
 * token with a space in it (one from a --token-file, say) is still a token, judged (right or
 * wrong) like any other, not taken for a missing one.
 */
export function presentedToken(request: IncomingMessage, url: URL): string | undefined {
  const fromQuery = url.searchParams.get('token');
  if (fromQuery !== null) return fromQuery;
  const header = request.headers.authorization ?? '';
  // Sliced rather than matched to the end: a lazy pattern before `\s*$` backtracks quadratically on
  // a long header of spaces.
  const scheme = /^Bearer\s+/i.exec(header);
  const token = scheme ? header.slice(scheme[0].length).trim() : '';
  return token === '' ? undefined : token;
}

/** Constant-time comparison (of digests, so the lengths need not match). */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
