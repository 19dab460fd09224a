/** `eric-bus listen`: streams a listener, or watches a channel, to stdout (directly or through a bridge). */

import type { StreamOptions } from '../../src/index.js';
import { UsageError } from '../errors.js';
import { parseCommandArgs, positiveInt, stringFlags } from './args.js';
import { CLIENT_FLAGS_USAGE, clientFlagOptions, withConnection } from './client-flags.js';
import type { Subcommand } from './command.js';
import { printEvents } from './print-events.js';

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
  --count N       stop after N events; the server takes no more than N off the queue, so
                  the rest stay queued for the next listen (eric-sse's own server ignores
                  this: there, what it sent beyond the N-th event is lost)
  --last-event-id ID
                  resume after the event with this "id": its listener's later events come
                  again, with their ids, then the queue (a "_eric_gap" event first when the
                  server no longer has them all); without LISTENER, resumes the watch that
                  carried ID. eric-sse's own server ignores it
  -h, --help      show this help`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...clientFlagOptions,
      ...stringFlags('count', 'last-event-id'),
    });
    const options: StreamOptions = {};
    const count = positiveInt(values.count, '--count');
    if (count !== undefined) options.limit = count;
    const lastEventId = values['last-event-id'];
    if (lastEventId === '') throw new UsageError('--last-event-id needs an event id');
    if (lastEventId !== undefined) options.lastEventId = lastEventId;
    const [channel, listener, ...extra] = positionals;
    if (channel === undefined || extra.length > 0) throw new UsageError('usage: listen CHANNEL [LISTENER]');
    return withConnection(values, ({ client, line }) =>
      printEvents(
        listener === undefined ? client.watch(channel, options) : client.stream(channel, listener, options),
        line,
      ),
    );
  },
};
