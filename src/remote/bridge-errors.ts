import { EricBusError, exceptionClasses, parseException } from '../errors.js';

/** The bridge refused a verb that is not on its allowed list. */
export class VerbNotAllowed extends EricBusError {
  override name = 'VerbNotAllowed';
}

/** The bridge refused a stream: this connection already has as many open as it allows. */
export class TooManyStreams extends EricBusError {
  override name = 'TooManyStreams';
}

/** The bridge could not reach the socket server behind it. */
export class BackendUnavailable extends EricBusError {
  override name = 'BackendUnavailable';
}

/** The bridge refused the connection at the upgrade (wrong token: 401, origin not allowed: 403). */
export class BridgeRefused extends EricBusError {
  override name = 'BridgeRefused';

  constructor(
    message: string,
    /** The HTTP status the bridge answered with. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The WebSocket closed while a command was in flight; it may or may not have run. */
export class ConnectionLost extends EricBusError {
  override name = 'ConnectionLost';
}

/** The client was closed: no more commands or streams. */
export class ClientClosed extends EricBusError {
  override name = 'ClientClosed';
}

/** Errors the bridge itself writes in error frames, by name. */
export const bridgeExceptionClasses = { VerbNotAllowed, TooManyStreams, BackendUnavailable } as const;

const knownClasses: Record<string, new (message: string) => EricBusError> = { ...exceptionClasses, ...bridgeExceptionClasses };

/**
 * Turns the text of an error frame (`Name('detail')`, as eric-sse writes exceptions) into a
 * typed error: one of the library's or the bridge's classes when the name is known, otherwise an
 * {@link EricBusError} carrying the name (so `KeyError('v')` from a Python server keeps its name).
 */
export function errorFromFrame(text: string): EricBusError {
  const parsed = parseException(text);
  if (!parsed) {
    const error = new EricBusError(text);
    error.name = 'BridgeError';
    return error;
  }
  const known = knownClasses[parsed.name];
  if (!known || parsed.constructor === known) return parsed;
  return new known(parsed.message);
}
