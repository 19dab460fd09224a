/** Graceful shutdown for long-running commands. */

/**
 * On the first SIGINT or SIGTERM, runs `close` and exits 0 (1 if closing failed). Returns a
 * function that removes the handlers.
 */
export function closeOnSignal(close: () => Promise<void>): () => void {
  const onSignal = () => {
    remove();
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(
          `eric-bus: error while shutting down: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        process.exit(1);
      },
    );
  };
  const remove = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return remove;
}
