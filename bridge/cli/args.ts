/** Command-line parsing shared by the subcommands: node's parseArgs, with usage errors made plain. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { EricBusError, formatException } from '../../src/errors.js';
import { UsageError } from '../errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses `argv` strictly against `options`; unknown options and missing values throw {@link UsageError}. */
export function parseCommandArgs<O extends Options>(
  argv: string[],
  options: O,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Reads a required string option. */
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

/** Runs a subcommand body, turning a {@link UsageError} into a one-line message and exit code 2. */
export async function withUsage(name: string, body: () => Promise<number | void>): Promise<number | void> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`eric-bus ${name}: ${error.message}\nRun 'eric-bus ${name} --help' for usage.\n`);
    return 2;
  }
}

/**
 * How a failed request is shown on the terminal: a server's error reply in its wire form, anything
 * else by its message.
 */
export function describeError(error: unknown): string {
  if (error instanceof EricBusError) return formatException(error);
  return error instanceof Error ? error.message : String(error);
}
