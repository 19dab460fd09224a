/** Running a command as a program, shared by `eric-bus` (main.ts) and `npm start` (scripts/start.ts). */
import { StartError, UsageError } from '../errors.js';
import type { Subcommand } from './command.js';

/**
 * Runs `command` with `argv`: `-h` / `--help` (before any `--`; after it they are values) prints
 * its usage; a {@link UsageError} or {@link StartError} is one line on stderr and exit code 2, any other
 * failure one line and exit code 1.
 * `program` prefixes those lines (`eric-bus send`), `helpCommand` is how to ask for the usage.
 */
export async function runCommand(
  program: string,
  command: Subcommand,
  argv: string[],
  helpCommand = `${program} --help`,
): Promise<number | void> {
  const options = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (options.includes('--help') || options.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${program}: ${error.message}\nRun '${helpCommand}' for usage.\n`);
      return 2;
    }
    // A StartError asks for what cannot be (exit 2); anything else, such as a Redis that cannot be
    // reached, is no mistake in the command line (exit 1). Either is one line naming the command.
    process.stderr.write(`${program}: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof StartError ? 2 : 1;
  }
}

/** Sets the exit code `main` resolves with; anything it throws is one line on stderr (no stack trace), exit 1. */
export function exitWith(program: string, main: Promise<number | void>): void {
  main.then(
    (code) => {
      if (typeof code === 'number') process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${program}: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
