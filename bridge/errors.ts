/**
 * The Node side's own errors (the library's, shared with the browser, are in src/errors.ts). Each is
 * an {@link EricBusError} with its `name` spelled out and a stable `code`, as the library's are.
 */
import { EricBusError } from '../src/errors.js';

/** The client went away before sending a whole command: there is no one to reply to. */
export class ClientGone extends EricBusError {
  override name = 'ClientGone';
  override readonly code = 'ERR_CLIENT_GONE';
}

/**
 * A socket file cannot be listened on: a live server holds it, it is not a socket, or its
 * directory does not exist.
 */
export class SocketPathUnavailable extends EricBusError {
  override name = 'SocketPathUnavailable';
  override readonly code = 'ERR_SOCKET_PATH_UNAVAILABLE';
}

/** A mistake on the command line: reported in one line with a pointer to `--help`, exit code 2. */
export class UsageError extends EricBusError {
  override name = 'UsageError';
  override readonly code = 'ERR_USAGE';
}

/**
 * A command could not start as asked (a port in use, a missing directory, an unreadable
 * certificate, ws not installed): reported in one line saying what to change, exit code 2. Also
 * what {@link WebSocketBridge.start} rejects with when ws, an optional peer dependency, is missing.
 */
export class StartError extends EricBusError {
  override name = 'StartError';
  override readonly code = 'ERR_START';
}

/** A stream line from the socket server that is not a JSON object, so cannot become a Server-Sent Event. */
export class UnreadableEventLine extends EricBusError {
  override name = 'UnreadableEventLine';
  override readonly code = 'ERR_UNREADABLE_EVENT_LINE';
}

/** An HTTP request to the bridge for a path none of its routes has (HTTP 404). */
export class NoSuchRoute extends EricBusError {
  override name = 'NoSuchRoute';
  override readonly code = 'ERR_NO_SUCH_ROUTE';
}

/** An HTTP request with a method its route does not take (HTTP 405). */
export class MethodNotAllowed extends EricBusError {
  override name = 'MethodNotAllowed';
  override readonly code = 'ERR_METHOD_NOT_ALLOWED';
}
