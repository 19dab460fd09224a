/** Graceful shutdown for long-running commands. */

/** How long a draining bridge lets its clients move before it closes (`--drain-ms`; docs/operations.md, "Draining"). */
export const DEFAULT_DRAIN_MS = 10_000;

/** The signals that end a server: Ctrl-C, `kill`, and the terminal closing. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** The signals that end a server whose SIGHUP rereads its keys. */
const CLOSING_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Runs `handler` on the first SIGINT, SIGTERM or SIGHUP (the handlers go then, so a second one
 * ends the process as usual). Returns a function that removes the handlers.
 */
export function onFirstSignal(handler: () => void, signals: readonly NodeJS.Signals[] = SIGNALS): () => void {
  const onSignal = () => {
    remove();
    handler();
  };
  const remove = () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
  for (const signal of signals) process.once(signal, onSignal);
  return remove;
}

/**
 * On the first SIGINT, SIGTERM or SIGHUP, runs `close` and exits 0 (1 if closing failed). A second
 * signal while it closes exits at once, with 130, but through `process.exit`, so that the process's
 * `exit` handlers still remove what must not be left behind (`up`'s private socket directory).
 * With `hangup`, SIGHUP runs it instead and the process goes on (`--jwt-key`: the keys are reread).
 * Returns a function that removes the handlers.
 */
export function closeOnSignal(close: () => Promise<void>, hangup?: () => void): () => void {
  if (hangup) process.on('SIGHUP', hangup);
  const remove = onFirstSignal(
    () => {
      for (const signal of hangup ? CLOSING_SIGNALS : SIGNALS) process.once(signal, () => process.exit(130));
      return close().then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(
            `eric-bus: error while shutting down: ${error instanceof Error ? error.message : String(error)}\n`,
          );
          process.exit(1);
        },
      );
    },
    hangup ? CLOSING_SIGNALS : SIGNALS,
  );
  return () => {
    remove();
    if (hangup) process.off('SIGHUP', hangup);
  };
}
