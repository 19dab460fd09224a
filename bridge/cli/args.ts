/** Command-line parsing shared by the subcommands and `npm start`: node's parseArgs, with mistakes said plainly. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { EricBusError, formatException } from '../../src/errors.js';
import { StartError, UsageError } from '../errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Every command takes `-h, --help` (the runner answers it before the command runs). */
const helpOption = { help: { type: 'boolean', short: 'h' } } as const;

type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O & typeof helpOption; allowPositionals: true; strict: true }>
>;

/**
 * Parses `argv` strictly against `options` (plus `-h, --help`). An unknown option, a missing
 * value or a value given to a flag throws a {@link UsageError} in one plain sentence:
 * `unknown option --sock (did you mean --socket?)`.
 */
export function parseCommandArgs<O extends Options>(argv: string[], options: O): Parsed<O> {
  const all = { ...options, ...helpOption };
  const { tokens } = parseArgs({ args: argv, options: all, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const option = all[token.name];
    if (!option) throw new UsageError(`unknown option ${token.rawName}${suggestion(token.name, Object.keys(all))}`);
    if (option.type === 'boolean' && token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`);
    if (option.type === 'string' && token.value === undefined) throw new UsageError(`${token.rawName} needs a value`);
    if (option.type === 'string' && !token.inlineValue && token.value!.startsWith('-'))
      throw new UsageError(
        `${token.rawName} needs a value, not '${token.value}' (write ${token.rawName}=${token.value} if it is one)`,
      );
  }
  try {
    return parseArgs({ args: argv, options: all, allowPositionals: true, strict: true });
  } catch (error) {
    // Not reached for the cases above; kept so that no parser text with a stack escapes.
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
}

/** ` (did you mean --socket?)` for a near miss: a unique prefix either way, or a letter or two off. */
function suggestion(given: string, known: string[]): string {
  const prefixed = known.filter((name) => name.startsWith(given) || given.startsWith(name));
  const near = known
    .map((name) => ({ name, distance: editDistance(given, name) }))
    .filter(({ distance }) => distance <= Math.min(2, Math.floor(given.length / 2)))
    .sort((a, b) => a.distance - b.distance);
  const best = prefixed.length === 1 ? prefixed[0] : near[0]?.name;
  return best === undefined ? '' : ` (did you mean --${best}?)`;
}

/** Levenshtein distance; option names are short, so the quadratic table is nothing. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

/** Reads a required string option. */
/** parseArgs options for flags that each take one string: `stringFlags('port', 'host')`. */
export function stringFlags<const N extends string>(...names: N[]): { readonly [K in N]: { readonly type: 'string' } } {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' }])) as {
    readonly [K in N]: { readonly type: 'string' };
  };
}

export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

/** Reads an optional positive integer option. */
export function positiveInt(value: string | undefined, flag: string): number | undefined {
  return integerFrom(value, flag, 1, 'a positive integer');
}

/** Reads an optional integer option that may be 0. */
export function nonNegativeInt(value: string | undefined, flag: string): number | undefined {
  return integerFrom(value, flag, 0, 'an integer, 0 or more');
}

function integerFrom(value: string | undefined, flag: string, min: number, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < min)
    throw new UsageError(`${flag} takes ${what}, not '${value}'`);
  return n;
}

/** Reads an optional TCP port option: 0 (any free one) to 65535. */
export function portArg(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new UsageError(`${flag} takes a port number (0 for any free one), not '${value}'`);
  return Number(value);
}

/**
 * Runs a server's start-up. Whatever keeps it from starting becomes a {@link StartError} saying
 * what to change; a TCP port in use points at `portFlag` and `portFlag 0`.
 */
export async function starting<T>(start: () => Promise<T>, portFlag = '--port'): Promise<T> {
  try {
    return await start();
  } catch (error) {
    throw new StartError(whyNotStarted(error, portFlag), { cause: error });
  }
}

function whyNotStarted(error: unknown, portFlag: string): string {
  const e = error as NodeJS.ErrnoException & { port?: number; address?: string; hostname?: string };
  const where = e.port === undefined ? undefined : `port ${e.port} on ${e.address}`;
  if (where && e.code === 'EADDRINUSE')
    return `${where} is already in use; choose another with ${portFlag} N, or ${portFlag} 0 for any free one`;
  if (where && e.code === 'EACCES')
    return `no permission to listen on ${where} (ports below 1024 need privileges); choose another with ${portFlag} N`;
  if (e.code === 'EADDRNOTAVAIL') return `cannot listen on ${e.address}: not an address of this machine (--host)`;
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return `cannot listen on ${e.hostname}: unknown host (--host)`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * How a failed request is shown on the terminal: a server's error reply in its wire form, anything
 * else by its message.
 */
export function describeError(error: unknown): string {
  if (error instanceof EricBusError) return formatException(error);
  return error instanceof Error ? error.message : String(error);
}
