/** `eric-bus bridge`: a WebSocket bridge in front of a running socket server. */
import { parseArgs } from 'node:util';
import type { Command } from '../cli.js';
import { WebSocketBridge } from '../bridge.js';
import { createLogger } from '../log.js';
import { closeOnSignal } from '../on-signal.js';
import { BRIDGE_FLAGS_USAGE, bridgeFlagOptions, bridgeOptionsFromFlags } from './bridge-flags.js';

const command: Command = {
  summary: 'a WebSocket bridge to a socket server, for browsers',
  usage: `Usage: eric-bus bridge --socket PATH [--port N] [--host H] [--token T] [--origin O]...
                      [--allow VERBS] [--max-frame BYTES] [--max-streams N] [--verbose]

Accepts WebSocket connections and relays each command frame to the socket server at PATH
(eric-bus's or eric-sse's). Prints the URL, with its token, for clients.

  --socket PATH       the socket server's socket file (required)
${BRIDGE_FLAGS_USAGE}`,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { socket: { type: 'string' }, ...bridgeFlagOptions }, strict: true });
    if (values.socket === undefined) throw new Error('bridge: --socket PATH is required');
    const bridge = await WebSocketBridge.start({ ...bridgeOptionsFromFlags(values), socketPath: values.socket, logger: createLogger(values.verbose) });
    closeOnSignal(() => bridge.close());
    console.log(`eric-bus bridge: forwarding to ${values.socket}`);
    console.log(`eric-bus bridge: connect to ${bridge.url}`);
  },
};
export default command;
