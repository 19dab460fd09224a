/** `eric-bus serve`: runs a SocketServer until SIGINT/SIGTERM. */

import { createLogger } from '../log.js';
import { SocketServer } from '../socket/server.js';
import { parseCommandArgs, positiveInt, required, withUsage } from './args.js';
import type { Command } from './command.js';
import { storeFlagOptions, storeFlagUsage, storeFromFlags } from './store-flag.js';

export const serve: Command = {
  summary: 'serve the eric-sse socket protocol on a Unix socket',
  usage: `Usage: eric-bus serve --socket PATH [options]

Serves eric-sse 0.6.1's Unix-socket protocol (one JSON command per connection) with
in-memory channels, or channels in Redis (--redis) shared with every server on the same Redis.
The socket file is created mode 0600; a stale one is replaced.
SIGINT/SIGTERM shut down gracefully and remove the file.

Options:
  --socket PATH         the socket file to listen on (required)
  --max-command BYTES   largest accepted command (default 1048576)
  --idle-timeout MS     how long a silent client is waited for (default 30000)
${storeFlagUsage(24)}
  --verbose             log connections and commands on stderr
  -h, --help            show this help`,
  run: (argv) =>
    withUsage('serve', async () => {
      const { values } = parseCommandArgs(argv, {
        socket: { type: 'string' },
        'max-command': { type: 'string' },
        'idle-timeout': { type: 'string' },
        verbose: { type: 'boolean', default: false },
        ...storeFlagOptions,
      });
      const path = required(values.socket, '--socket');
      const logger = createLogger(values.verbose);
      const store = await storeFromFlags(values, { logger });
      await SocketServer.start(path, {
        store,
        maxBytes: positiveInt(values['max-command'], '--max-command'),
        idleTimeoutMs: positiveInt(values['idle-timeout'], '--idle-timeout'),
        logger,
      });
      console.log(`eric-bus: serving on ${path}${values.redis === undefined ? '' : ` (channels in ${values.redis})`}`);
    }),
};
