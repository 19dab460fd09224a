/** `eric-bus bridge`: a WebSocket bridge in front of a running socket server. */
import { existsSync } from 'node:fs';
import { WebSocketBridge } from '../websocket/bridge.js';
import { parseCommandArgs, required, starting } from './args.js';
import {
  BRIDGE_FLAGS_USAGE,
  bridgeFlagOptions,
  bridgeOptionsFromFlags,
  reloadOnHangup,
  signedTokensBanner,
} from './bridge-flags.js';
import type { Subcommand } from './command.js';
import { bridgeOpsFromFlags, bridgeOpsOptions, bridgeOpsUsage, loggerFromFlags, runOps } from './ops-flags.js';

export const bridge: Subcommand = {
  summary: 'a WebSocket bridge to a socket server, for browsers',
  usage: `Usage: eric-bus bridge --socket PATH [--port N] [--host H] [--token T | --token-file FILE]
                      [--origin O]... [--allow VERBS] [--max-frame BYTES] [--max-streams N]
                      [--tls-cert FILE --tls-key FILE] [--jwt-key FILE [--jwt-issuer ISS]
                      [--jwt-audience AUD] [--jwt-leeway S]] [--verbose] [--drain-ms MS]
                      [--metrics | --metrics-port N] [--log-format text|json]

Accepts WebSocket connections and relays each command frame to the socket server at PATH
(eric-bus's or eric-sse's). On the same port, plain HTTP: REST routes and Server-Sent Events
under /channels (curl, fetch, EventSource). Prints the URL, with its token, for clients.

Options:
  --socket PATH       the socket server's socket file (required)
${bridgeOpsUsage(22)}
${BRIDGE_FLAGS_USAGE}`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      socket: { type: 'string' },
      ...bridgeFlagOptions,
      ...bridgeOpsOptions,
    });
    const socketPath = required(values.socket, '--socket');
    const options = bridgeOptionsFromFlags(values, { program: 'eric-bus bridge' });
    // Not an error: the server may start later. But say so, or every command fails unexplained.
    if (!existsSync(socketPath))
      process.stderr.write(
        `eric-bus bridge: warning: no socket at ${socketPath} yet; commands fail until a server listens there\n`,
      );
    const logger = loggerFromFlags(values);
    const ops = await bridgeOpsFromFlags(values);
    const running = await starting(() =>
      WebSocketBridge.start({ ...options, socketPath, logger, metricsOnPort: ops.metricsOnPort }),
    );
    const where = { program: 'eric-bus bridge', host: options.host, socketPath };
    const reload = reloadOnHangup(values, 'eric-bus bridge', () => running);
    const banner = [`forwarding to ${socketPath}`, `connect to ${running.url}`, ...signedTokensBanner(values)];
    await runOps(ops, running, where, banner, reload);
  },
};
