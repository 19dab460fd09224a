/** `eric-bus serve`: runs a SocketServer until SIGINT, SIGTERM or SIGHUP. */

import { dirname } from 'node:path';
import { enableMetrics } from '../metrics/metrics.js';
import { SocketServer } from '../socket/server.js';
import { isSharedDir } from '../socket/socket-file.js';
import { channelsIn } from '../store/redis-url.js';
import { parseCommandArgs, portArg, positiveInt, required, starting } from './args.js';
import type { Subcommand } from './command.js';
import { httpPortUsage, logFormatUsage, loggerFromFlags, serveOps, serveOpsOptions } from './ops-flags.js';
import { serverFlagOptions, serverFlagsUsage, serverOptionsFromFlags, storeFromFlags } from './server-flags.js';

export const serve: Subcommand = {
  summary: 'serve the eric-sse socket protocol on a Unix socket',
  usage: `Usage: eric-bus serve --socket PATH [options]

Serves eric-sse 0.6.1's Unix-socket protocol (one JSON command per connection) with
in-memory channels, or channels in Redis (--redis) shared by every server on that Redis.
Each stream line carries an event id; a stream dropped mid-way resumes
after the last id its client got ("i" in the command). The socket file is created mode 0600,
and its directory mode 0700 if that is missing (its parent must exist); a stale socket file
is replaced; serve warns when other users can write to its directory (as in /tmp), since one
of them could take the path while the server is down. SIGINT/SIGTERM/SIGHUP shut down
gracefully and remove the file.

Options:
  --socket PATH         the socket file to listen on (required)
  --max-command BYTES   largest accepted command (default 1048576)
  --idle-timeout MS     how long a client has to send its whole command (default 30000)
  --max-pending N       connections still sending their command at most; past it the
                        oldest is closed (default: half the open-file limit)
${serverFlagsUsage(24)}
${httpPortUsage(24)}
  --verbose             log connections and commands on stderr
${logFormatUsage(24)}
  -h, --help            show this help`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      socket: { type: 'string' },
      'max-command': { type: 'string' },
      'idle-timeout': { type: 'string' },
      'max-pending': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      ...serverFlagOptions,
      ...serveOpsOptions,
    });
    const path = required(values.socket, '--socket');
    const logger = loggerFromFlags(values);
    const httpPort = portArg(values['http-port'], '--http-port');
    // Before the server starts, so that it counts from its first connection.
    if (httpPort !== undefined) await enableMetrics();
    const serverOptions = serverOptionsFromFlags(values);
    const options = {
      maxBytes: positiveInt(values['max-command'], '--max-command'),
      idleTimeoutMs: positiveInt(values['idle-timeout'], '--idle-timeout'),
      maxPendingConnections: positiveInt(values['max-pending'], '--max-pending'),
      logger,
    };
    // A Redis that cannot be reached is not a start-up mistake: it says so and exits 1.
    const store = await storeFromFlags(values, { logger, ...serverOptions });
    await starting(() => SocketServer.start(path, { ...options, store }));
    console.log(`eric-bus: serving on ${path}${channelsIn(values.redis)}`);
    if (httpPort !== undefined)
      console.log(`eric-bus: health and metrics at ${await serveOps(httpPort, '127.0.0.1', path)}`);
    if (await isSharedDir(path))
      process.stderr.write(
        `eric-bus serve: warning: other users can create files in ${dirname(path)}: one of them could ` +
          'listen on this path while the server is down and answer its clients; prefer a private ' +
          'directory (serve makes a missing one, mode 0700)\n',
      );
  },
};
