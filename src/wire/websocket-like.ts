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

/** What the owner of a WebSocket does on its events. */
export interface SocketEvents {
  open(): void;
  /** A text message (binary ones are not the bridge's). */
  text(data: string): void;
  close(code: number, reason: string): void;
}

/**
 * Sets a WebSocket's handlers: text messages only, errors left to the close that follows them, and
 * nothing once `current()` says the owner has moved on to another WebSocket.
 */
export function handleSocket(socket: WebSocketLike, current: () => boolean, on: SocketEvents): void {
  socket.onopen = () => {
    if (current()) on.open();
  };
  socket.onmessage = (event: { data: unknown }) => {
    if (current() && typeof event.data === 'string') on.text(event.data);
  };
  socket.onerror = () => {};
  socket.onclose = (event: { code: number; reason: string }) => {
    if (current()) on.close(event.code, event.reason);
  };
}
