/** The Node side's own errors (the library's, shared with the browser, are in src/errors.ts). */

/** The client went away before sending a whole command: there is no one to reply to. */
export class ClientGone extends Error {
  override name = 'ClientGone';
  readonly code = 'ERR_CLIENT_GONE';
}

/** A mistake on the command line: reported in one line with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly code = 'ERR_USAGE';
}
