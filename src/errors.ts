/**
 * Base of every eric-bus error; `name` is always the concrete class name. The library's own
 * classes also spell it out, because minifiers (ours, or an app's bundler) rename classes.
 */
export class EricBusError extends Error {
  constructor(message = '') {
    super(message);
    this.name = new.target.name;
  }
}

/** A channel id that names no channel. */
export class InvalidChannelException extends EricBusError {
  override name = 'InvalidChannelException';
}

/** A listener id that names no listener of the channel. */
export class InvalidListenerException extends EricBusError {
  override name = 'InvalidListenerException';
}

/** A command or message that does not have the expected shape. */
export class InvalidMessageFormat extends EricBusError {
  override name = 'InvalidMessageFormat';
}

/** Nothing to deliver: the queue is empty or the listener is not running. */
export class NoMessagesException extends EricBusError {
  override name = 'NoMessagesException';
}

/** The exception classes by name, for turning wire replies back into errors. */
export const exceptionClasses = {
  InvalidChannelException,
  InvalidListenerException,
  InvalidMessageFormat,
  NoMessagesException,
} as const;

/** Renders an error the way eric-sse writes it on the wire: `Name('detail')`. */
export function formatException(error: Error): string {
  return `${error.name}(${pythonRepr(error.message)})`;
}

/** Parses `Name('detail')` back into a typed error, or returns undefined if the text is not one. */
export function parseException(text: string): EricBusError | undefined {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)\((.*)\)$/s.exec(text);
  if (!match) return undefined;
  const [, name, arg] = match as unknown as [string, string, string];
  const known = exceptionClasses[name as keyof typeof exceptionClasses];
  const detail = unrepr(arg);
  if (detail === undefined) return undefined;
  const error = known ? new known(detail) : new EricBusError(detail);
  if (!known) error.name = name;
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
  return arg.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|.)/gs, (_, e: string) =>
    e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : escapes[e] ?? '\\' + e,
  );
}
