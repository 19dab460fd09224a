/** `eric-bus listen`: streams a listener, or watches a channel, to stdout (directly or through a bridge). */

import { UsageError } from '../errors.js';
import { onFirstSignal } from '../signals.js';
import { parseCommandArgs, positiveInt } from './args.js';
import { CLIENT_FLAGS_USAGE, clientFlagOptions, withConnection } from './client-flags.js';
import type { Subcommand } from './command.js';

/** How long a signalled `listen` waits at most for its goodbye to the server to go out. */
const LEAVE_GRACE_MS = 1000;

export const listen: Subcommand = {
  summary: "stream a listener's events (or watch a channel) as JSON lines",
  usage: `Usage: eric-bus listen (--socket PATH | --url URL) CHANNEL [LISTENER] [options]

With LISTENER, starts that listener and streams it (verb 'l'); without, adds a new
listener to CHANNEL and streams it (verb 'w'). Prints one JSON line per event,
{"event", "retry", "data", "id"} (eric-sse's own server sends no "id"), until the listener
stops, the channel goes away, --count events have arrived, or Ctrl-C / SIGTERM / SIGHUP
(which leave the stream on the server at once, nothing lost, and exit 0).

Options:
${CLIENT_FLAGS_USAGE}
  --count N       stop after N events
  -h, --help      show this help`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...clientFlagOptions, count: { type: 'string' } });
    const count = positiveInt(values.count, '--count') ?? Infinity;
    const [channel, listener, ...extra] = positionals;
    if (channel === undefined || extra.length > 0) throw new UsageError('usage: listen CHANNEL [LISTENER]');
    return withConnection(values, async ({ client, line }) => {
      const events = (listener === undefined ? client.watch(channel) : client.stream(channel, listener))[
        Symbol.asyncIterator
      ]();
      // A signal leaves the stream as `break` would: the client tells the server (`rs`, a bridge's
      // cancel), which releases it at once instead of holding the listener until its next message,
      // and the loop ends as if the stream had. The process then exits once that word is out, or
      // after LEAVE_GRACE_MS if the server does not take it.
      const removeHandlers = onFirstSignal(() => {
        setTimeout(() => process.exit(0), LEAVE_GRACE_MS).unref();
        void events.return?.();
      });
      try {
        let seen = 0;
        for await (const event of { [Symbol.asyncIterator]: () => events }) {
          // Respect a slow stdout (a pipe to `head`, a terminal): read on only once the line is out.
          if (!process.stdout.write(`${line(event)}\n`))
            await new Promise((resolve) => process.stdout.once('drain', resolve));
          if (++seen >= count) break;
        }
      } finally {
        removeHandlers();
      }
    });
  },
};
