/**
 * Which token the WebSocket that tabs share opens with (docs/tabs.md, "Tokens and tabs"): the tabs
 * group by name and URL without the token, each gives the URL with its current token when it connects
 * and its fresh tokens in `auth` frames, and the holder opens (and re-opens) the WebSocket with the
 * newest token given: the one that expires last. A token the bridge closed the WebSocket for (4401)
 * is never opened with again.
 */
import { jwtClaims } from '../wire/jwt-claims.js';

/** `url` without its `token` parameter: what the tabs of one share have in common. */
export function urlWithoutToken(url: string): string {
  const target = new URL(url);
  target.searchParams.delete('token');
  return target.href;
}

/** The `token` parameter of `url`, if any. */
export function tokenOf(url: string): string | undefined {
  return new URL(url).searchParams.get('token') ?? undefined;
}

/** A token's `exp` (seconds), when it is a JWT that has one. */
function expiryOf(token: string | undefined): number | undefined {
  const exp = token === undefined ? undefined : jwtClaims(token)?.exp;
  return typeof exp === 'number' ? exp : undefined;
}

/**
 * The URL a shared WebSocket opens with, from those the tabs gave: the one whose token expires last
 * (of tokens without `exp`, such as a shared `--token`, the last given).
 */
export class SharedToken {
  #url: string;
  /** The token the shared WebSocket carries now: the one it opened with, or the last sent in an `auth`. */
  #inUse: string | undefined;
  /** The token the bridge closed the shared WebSocket for as expired, and its `exp`. */
  #expired: { token: string; exp: number | undefined } | undefined;
  /** The last open failed: the next URL a tab gives is taken, whatever its token. */
  #failed = false;

  constructor(url: string) {
    this.#url = url;
  }

  /** The URL to open the shared WebSocket with now; its token is then the one in use. */
  open(): string {
    this.#inUse = tokenOf(this.#url);
    return this.#url;
  }

  /** A tab gave `url` (its URL with its current token): kept if its token is the newest. */
  offer(url: string): void {
    if (this.isExpired(url)) return;
    const current = tokenOf(this.#url);
    if (this.#failed || current === undefined || this.isExpired(this.#url)) {
      this.#url = url;
      this.#failed = false;
      return;
    }
    const exp = expiryOf(tokenOf(url));
    const currentExp = expiryOf(current);
    if (exp === undefined || currentExp === undefined || exp >= currentExp) this.#url = url;
  }

  /** The bridge took a tab's fresh token in an `auth` frame: in use, and offered for the next open. */
  authed(token: string): void {
    this.#inUse = token;
    const target = new URL(this.#url);
    target.searchParams.set('token', token);
    this.offer(target.href);
  }

  /**
   * The shared WebSocket did not open (the bridge is down, or refused the token: a tab's token
   * function may have given a bad one): the next URL a tab gives is opened with, not this one again.
   */
  failed(): void {
    this.#failed = true;
  }

  /** The bridge closed the shared WebSocket because the token in use expired (4401). */
  expired(): void {
    const token = this.#inUse;
    if (token !== undefined) this.#expired = { token, exp: expiryOf(token) };
  }

  /** Whether `url`'s token is the one that expired, or one that expires no later. */
  isExpired(url: string): boolean {
    const expired = this.#expired;
    const token = tokenOf(url);
    if (!expired || token === undefined) return false;
    if (token === expired.token) return true;
    const exp = expiryOf(token);
    return exp !== undefined && expired.exp !== undefined && exp <= expired.exp;
  }
}
