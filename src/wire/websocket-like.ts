/** The WebSocket API as a client of the bridge uses it: the browser's, or another with the same shape. */

/**
 * The part of the WebSocket API the client needs: the browser's `WebSocket`, or another
 * implementation of the same API (e.g. the `ws` package's, in Node).
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}

/** Makes a WebSocket for a URL, like the browser's `WebSocket` constructor. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;
