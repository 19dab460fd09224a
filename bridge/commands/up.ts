/** `eric-bus up`: a socket server and a bridge to it, together. */
import { parseArgs } from 'node:util';
import type { Command } from '../cli.js';
import { createLogger } from '../log.js';
import { closeOnSignal } from '../on-signal.js';
import { startUp } from '../up.js';
import { BRIDGE_FLAGS_USAGE, bridgeFlagOptions, bridgeOptionsFromFlags } from './bridge-flags.js';

const command: Command = {
  summary: 'a socket server and a WebSocket bridge to it, together',
  usage: `Usage: eric-bus up [--socket PATH] [--port N] [--host H] [--token T] [--origin O]...
                  [--allow VERBS] [--max-frame BYTES] [--max-streams N] [--thread] [--verbose]

Starts a socket server (in memory) and a WebSocket bridge to it; prints the socket path and
the URL, with its token, for clients. Ctrl-C stops both and removes the socket.

  --socket PATH       the socket file (default: bus.sock in a fresh private temp dir)
  --thread            run the bridge on a worker thread (another core than the server)
${BRIDGE_FLAGS_USAGE}`,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { socket: { type: 'string' }, thread: { type: 'boolean' }, ...bridgeFlagOptions }, strict: true });
    const logger = createLogger(values.verbose);
    const up = await startUp({
      ...bridgeOptionsFromFlags(values),
      ...(values.socket === undefined ? {} : { socketPath: values.socket }),
      logger,
      server: { logger },
      thread: values.thread ?? false,
      verbose: values.verbose ?? false,
    });
    closeOnSignal(() => up.close());
    console.log(`eric-bus up: socket server on ${up.socketPath}`);
    console.log(`eric-bus up: bridge at ${up.url}`);
  },
};
export default command;
