/**
 * A client's list of bridges (docs/bridge.md, "Several bridges"): which one to try now, and when a
 * whole round of them has failed, so that a client moves to the next bridge at once and backs off
 * only after every bridge has been tried.
 */

/** The bridges a {@link BridgeClient} may use: one URL, or several in front of one Redis. */
export type BridgeUrls = string | URL | readonly (string | URL)[];

/** A bridge's URL as a WebSocket URL (`http:` → `ws:`, `https:` → `wss:`), the token set when given. */
export function webSocketUrl(url: string | URL, token?: string): string {
  const target = new URL(url);
  if (target.protocol === 'http:') target.protocol = 'ws:';
  else if (target.protocol === 'https:') target.protocol = 'wss:';
  if (token !== undefined) target.searchParams.set('token', token);
  return target.href;
}

/** Turns through a list of URLs: the current one, the next on a failure, a count of failures in a row. */
export class UrlRotation {
  readonly urls: readonly string[];
  #index = 0;
  #failures = 0;
  /** The URLs whose bridges refused (401, 403) since the last connection. */
  readonly #refused = new Set<number>();

  constructor(urls: readonly string[]) {
    if (urls.length === 0) throw new RangeError('A BridgeClient needs at least one URL');
    this.urls = urls;
  }

  /** The URL to use now. */
  get current(): string {
    return this.urls[this.#index]!;
  }

  /** A connection opened: the next failure starts a new round. */
  connected(): void {
    this.#failures = 0;
    this.#refused.clear();
  }

  /**
   * The current URL's bridge refused: true once every URL's has since the last connection (the
   * refusal is then final), false while another may still take the client (one whose keys differ
   * during a rotation, say).
   */
  refused(): boolean {
    this.#refused.add(this.#index);
    return this.#refused.size === this.urls.length;
  }

  /**
   * The current URL failed, or its bridge asked its clients to move: turn to the next one. True when
   * every URL has now failed in a row since the last connection (a full round): time to back off.
   */
  advance(): boolean {
    this.moveOn();
    this.#failures++;
    return this.#failures % this.urls.length === 0;
  }

  /** The current bridge is draining: turn to the next one, no failure counted. */
  moveOn(): void {
    this.#index = (this.#index + 1) % this.urls.length;
  }
}

/** The URLs of `urls` as a list (one URL is a list of one). */
export function urlList(urls: BridgeUrls): (string | URL)[] {
  return typeof urls === 'string' || urls instanceof URL ? [urls] : [...urls];
}
