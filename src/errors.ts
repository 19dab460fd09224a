/**
 * Every error the browser-safe library throws, in one place. Each class spells out its `name`
 * (minifiers rename classes) and carries a stable `code` to branch on; on the wire an error
 * travels as eric-sse writes exceptions, `Name('detail')`, and comes back as the same class.
 */

/** Base of every eric-bus error; `code` is stable across versions, `name` is the class name. */
export class EricBusError extends Error {
  override name = 'EricBusError';
  readonly code: string = 'ERR_ERIC_BUS';

  constructor(message = '', options?: ErrorOptions) {
    super(message, options);
    // An application's own subclass names itself; the library's classes set `name` explicitly.
    if (new.target !== EricBusError) this.name = new.target.name;
  }
}

/** A channel id that names no channel. */
export class InvalidChannelException extends EricBusError {
  override name = 'InvalidChannelException';
  override readonly code = 'ERR_INVALID_CHANNEL';
}

/** A listener id that names no listener of the channel. */
export class InvalidListenerException extends EricBusError {
  override name = 'InvalidListenerException';
  override readonly code = 'ERR_INVALID_LISTENER';
}

/** A command or message that does not have the expected shape. */
export class InvalidMessageFormat extends EricBusError {
  override name = 'InvalidMessageFormat';
  override readonly code = 'ERR_INVALID_MESSAGE_FORMAT';
}

/** Nothing to deliver: the queue is empty or the listener is not running. */
export class NoMessagesException extends EricBusError {
  override name = 'NoMessagesException';
  override readonly code = 'ERR_NO_MESSAGES';
}

/** A worker died (or could not start) while it held messages; they are reported, not lost silently. */
export class WorkerCrashedError extends EricBusError {
  override name = 'WorkerCrashedError';
  override readonly code = 'ERR_WORKER_CRASHED';
}

/** The bridge refused a verb that is not on its allowed list. */
export class VerbNotAllowed extends EricBusError {
  override name = 'VerbNotAllowed';
  override readonly code = 'ERR_VERB_NOT_ALLOWED';
}

/** The bridge refused a stream: this connection already has as many open as it allows. */
export class TooManyStreams extends EricBusError {
  override name = 'TooManyStreams';
  override readonly code = 'ERR_TOO_MANY_STREAMS';
}

/** The server refused to grow past a configured limit (channels, listeners). */
export class LimitExceeded extends EricBusError {
  override name = 'LimitExceeded';
  override readonly code = 'ERR_LIMIT_EXCEEDED';
}

/** The bridge could not reach the socket server behind it. */
export class BackendUnavailable extends EricBusError {
  override name = 'BackendUnavailable';
  override readonly code = 'ERR_BACKEND_UNAVAILABLE';
}

/**
 * The server could not reach the store its channels live in (e.g. Redis is down): the command
 * did not run, or it is not known whether it did; nothing acknowledged is lost. Retry later.
 */
export class StoreUnavailable extends EricBusError {
  override name = 'StoreUnavailable';
  override readonly code = 'ERR_STORE_UNAVAILABLE';
}

/** The bridge refused the connection at the upgrade (wrong token: 401, origin not allowed: 403). */
export class BridgeRefused extends EricBusError {
  override name = 'BridgeRefused';
  override readonly code = 'ERR_BRIDGE_REFUSED';

  constructor(
    message: string,
    /** The HTTP status the bridge answered with. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * A signed token's grants do not cover the command (docs/security.md, "Scoped tokens"): it never
 * reached the server. The detail names the verb and the channel: `Forbidden('d on channel 7')`.
 */
export class Forbidden extends EricBusError {
  override name = 'Forbidden';
  override readonly code = 'ERR_FORBIDDEN';
}

/**
 * The connection that carried a command (a WebSocket to the bridge, a session to the socket server)
 * closed before its reply: it may or may not have run, and is not sent again by itself.
 */
export class ConnectionLost extends EricBusError {
  override name = 'ConnectionLost';
  override readonly code = 'ERR_CONNECTION_LOST';
}

/** The client was closed: no more commands or streams. */
export class ClientClosed extends EricBusError {
  override name = 'ClientClosed';
  override readonly code = 'ERR_CLIENT_CLOSED';
}

/** The error classes that may arrive on the wire, by name. */
const wireClasses: Record<string, new (message: string) => EricBusError> = {
  InvalidChannelException,
  InvalidListenerException,
  InvalidMessageFormat,
  NoMessagesException,
  VerbNotAllowed,
  TooManyStreams,
  BackendUnavailable,
  LimitExceeded,
  StoreUnavailable,
  Forbidden,
};

/** Renders an error the way eric-sse writes it on the wire: `Name('detail')`. */
export function formatException(error: Error): string {
  return `${error.name}(${pythonRepr(error.message)})`;
}

/**
 * Parses `Name('detail')` back into a typed error: the library's class when the name is known,
 * otherwise an {@link EricBusError} carrying the name (so `KeyError('v')` from a Python server
 * keeps it). Undefined when the text is not in that form.
 */
export function parseException(text: string): EricBusError | undefined {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)\((.*)\)$/s.exec(text);
  if (!match) return undefined;
  const [, name, arg] = match as unknown as [string, string, string];
  const detail = unrepr(arg);
  if (detail === undefined) return undefined;
  const known = wireClasses[name];
  if (known) return new known(detail);
  const error = new EricBusError(detail);
  error.name = name;
  return error;
}

/** Turns the text of an error reply into a typed error; text not in the `Name('detail')` form is a `BridgeError`. */
export function errorFromFrame(text: string): EricBusError {
  const parsed = parseException(text);
  if (parsed) return parsed;
  const error = new EricBusError(text);
  error.name = 'BridgeError';
  return error;
}

/** Python's repr() of a str, which is what eric-sse puts between the parentheses. */
function pythonRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch < ' ') out += '\\x' + ch.charCodeAt(0).toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + quote;
}

function unrepr(arg: string): string | undefined {
  if (arg === '') return '';
  const quote = arg[0];
  if ((quote !== "'" && quote !== '"') || arg.at(-1) !== quote || arg.length < 2) return undefined;
  const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"' };
  return arg
    .slice(1, -1)
    .replace(/\\(x[0-9a-fA-F]{2}|.)/gs, (_, e: string) =>
      e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : (escapes[e] ?? '\\' + e),
    );
}
