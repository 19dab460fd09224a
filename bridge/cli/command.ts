/** The shape of a subcommand module, shared by `main.ts` and each subcommand. */

/** What each subcommand module exports. */
export interface Subcommand {
  /** One line for the command list. */
  summary: string;
  /** The full `--help` text. */
  usage: string;
  /** Runs the command with the arguments after its name; resolves with the exit code (or never, for servers). */
  run(argv: string[]): Promise<number | void>;
}
