/**
 * Keeping a signed token fresh for a long-lived client (docs/security.md, "Refreshing a token"): a
 * function the application gives fetches a token from its backend; a fresh one is asked for after
 * three quarters of the current one's lifetime, and at once when the bridge closed the connection for
 * an expired token (4401). Browser-safe: the token's claims are read, never verified (the bridge does that).
 */
import { log } from '../log.js';
import { timerAt } from '../timer-at.js';
import { jwtClaims } from '../wire/jwt-claims.js';

/** A bridge token: the token itself, or a function that fetches a fresh signed one. */
export type TokenSource = string | (() => Promise<string>);

/** Share of a token's lifetime after which a fresh one is asked for. */
export const REFRESH_AT = 0.75;

/**
 * When a fresh token is due, in ms from `now`: {@link REFRESH_AT} of the way from its `iat` (else from
 * `now`) to its `exp`. Undefined for a token without `exp` (a shared token never expires).
 */
export function refreshDelay(token: string, now = Date.now()): number | undefined {
  const claims = jwtClaims(token);
  if (typeof claims?.exp !== 'number') return undefined;
  const expires = claims.exp * 1000;
  const issued = typeof claims.iat === 'number' ? Math.min(claims.iat * 1000, now) : now;
  return Math.max(0, issued + REFRESH_AT * (expires - issued) - now);
}

/**
 * Holds the current token of a {@link TokenSource} function and fetches fresh ones: on demand
 * ({@link fresh}), and on a timer at {@link REFRESH_AT} of each one's lifetime, handing each to
 * `onRefreshed` (which sends it to the bridge).
 */
export class TokenRefresher {
  readonly #source: () => Promise<string>;
  readonly #onRefreshed: (token: string) => void;
  #current: string | undefined;
  #fetching: Promise<string> | undefined;
  #cancelTimer: (() => void) | undefined;
  #stopped = false;

  constructor(source: () => Promise<string>, onRefreshed: (token: string) => void) {
    this.#source = source;
    this.#onRefreshed = onRefreshed;
  }

  /** The last token fetched, if any. */
  get current(): string | undefined {
    return this.#current;
  }

  /** Fetches a fresh token (one fetch at a time: callers meanwhile share it) and schedules the next. */
  fresh(): Promise<string> {
    this.#fetching ??= this.#source().then(
      (token) => {
        this.#fetching = undefined;
        if (typeof token !== 'string' || token === '') throw new TypeError('The token function gave no token');
        this.#current = token;
        this.#schedule(token);
        return token;
      },
      (error: unknown) => {
        this.#fetching = undefined;
        throw error;
      },
    );
    return this.#fetching;
  }

  /** Stops refreshing (the client closed). */
  stop(): void {
    this.#stopped = true;
    this.#cancelTimer?.();
  }

  #schedule(token: string): void {
    this.#cancelTimer?.();
    if (this.#stopped) return;
    const delay = refreshDelay(token);
    if (delay === undefined) return;
    this.#cancelTimer = timerAt(Date.now() + delay, () =>
      this.fresh().then(
        (fresh) => this.#onRefreshed(fresh),
        // The current token stays in force until it expires; the bridge then says so (4401), and a
        // fresh one is asked for again before reconnecting.
        (error: unknown) => log().warn('eric-bus: could not fetch a fresh token:', error),
      ),
    );
  }
}
