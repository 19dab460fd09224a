/** `eric-bus up`: a socket server and a bridge to it, together. */

import type { LogFormat } from '../log.js';
import { channelsIn } from '../store/redis-url.js';
import { startUp } from '../up.js';
import { parseCommandArgs, starting } from './args.js';
import {
  BRIDGE_FLAGS_USAGE,
  bridgeFlagOptions,
  bridgeOptionsFromFlags,
  reloadOnHangup,
  signedTokensBanner,
} from './bridge-flags.js';
import type { Subcommand } from './command.js';
import { bridgeOpsFromFlags, bridgeOpsOptions, bridgeOpsUsage, loggerFromFlags, runOps } from './ops-flags.js';
import { serverFlagOptions, serverFlagsUsage, serverOptionsFromFlags, storeFromFlags } from './server-flags.js';

export const up: Subcommand = {
  summary: 'a socket server and a WebSocket bridge to it, together',
  usage: `Usage: eric-bus up [--socket PATH] [--port N] [--host H] [--token T | --token-file FILE]
                  [--origin O]... [--allow VERBS] [--max-frame BYTES] [--max-streams N]
                  [--tls-cert FILE --tls-key FILE] [--thread] [--verbose]
                  [--jwt-key FILE [--jwt-issuer ISS] [--jwt-audience AUD] [--jwt-leeway S]]
                  [--history N] [--history-bytes N] [--watch-grace MS] [--max-channels N]
                  [--max-listeners N] [--redis URL] [--drain-ms MS]
                  [--metrics | --metrics-port N] [--log-format text|json]

Starts a socket server (in memory, or on Redis with --redis) and a WebSocket bridge to it
(which also answers plain HTTP: REST routes and Server-Sent Events under /channels); prints the
socket path and the URL, with its token, for clients. Ctrl-C stops both and removes the socket.

Options:
  --socket PATH       the socket file (default: bus.sock in a fresh private temp dir)
  --thread            run the bridge on a worker thread (another core than the server)
${serverFlagsUsage(22)}
${bridgeOpsUsage(22)}
${BRIDGE_FLAGS_USAGE}`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      socket: { type: 'string' },
      thread: { type: 'boolean' },
      ...serverFlagOptions,
      ...bridgeFlagOptions,
      ...bridgeOpsOptions,
    });
    const logger = loggerFromFlags(values);
    const ops = await bridgeOpsFromFlags(values);
    const options = bridgeOptionsFromFlags(values, { program: 'eric-bus up' });
    const serverOptions = serverOptionsFromFlags(values);
    const store = await storeFromFlags(values, { logger, ...serverOptions });
    const running = await starting(() =>
      startUp({
        ...options,
        metricsOnPort: ops.metricsOnPort,
        ...(values.socket === undefined ? {} : { socketPath: values.socket }),
        logger,
        server: { logger, store },
        thread: values.thread ?? false,
        verbose: values.verbose ?? false,
        logFormat: values['log-format'] as LogFormat | undefined,
      }),
    );
    const where = { program: 'eric-bus up', host: options.host, socketPath: running.socketPath };
    const reload = reloadOnHangup(values, 'eric-bus up', () => running.bridge);
    await runOps(
      ops,
      running,
      where,
      [
        `socket server on ${running.socketPath}${channelsIn(values.redis)}`,
        `bridge at ${running.url}`,
        ...signedTokensBanner(values),
      ],
      reload,
    );
  },
};
