/** A stream's events on stdout, one JSON line each: how `listen` and `send raw` with `l` or `w` print. */
import { onFirstSignal } from '../signals.js';

/** How long a signalled command waits at most for its goodbye to the server to go out. */
const LEAVE_GRACE_MS = 1000;

/**
 * Prints each event of `events` as `line` writes it, until the stream ends (its listener or
 * channel removed, its `n` events streamed) or a signal leaves it. A signal (SIGINT, SIGTERM,
 * SIGHUP) leaves the stream as `break` would: the client tells the server (`rs`, a bridge's
 * cancel), which releases it at once instead of holding the listener until its next message,
 * and the printing ends as if the stream had; the process then exits 0 once that word is out, or
 * after {@link LEAVE_GRACE_MS} if the server does not take it.
 */
export async function printEvents<E>(events: AsyncIterable<E>, line: (event: E) => string): Promise<void> {
  const iterator = events[Symbol.asyncIterator]();
  const removeHandlers = onFirstSignal(() => {
    setTimeout(() => process.exit(0), LEAVE_GRACE_MS).unref();
    void iterator.return?.();
  });
  try {
    for await (const event of { [Symbol.asyncIterator]: () => iterator }) {
      // Respect a slow stdout (a pipe to `head`, a terminal): read on only once the line is out.
      if (!process.stdout.write(`${line(event)}\n`))
        await new Promise((resolve) => process.stdout.once('drain', resolve));
    }
  } finally {
    removeHandlers();
  }
}
