/** The bridge's command-line flags, shared by `eric-bus bridge` and `eric-bus up`. */
import { isVerb, VERBS, type Verb } from '../../src/wire/socket-protocol.js';
import { UsageError } from '../errors.js';
import type { BridgeOptions } from '../web/bridge.js';
import { positiveInt } from './args.js';

/** The port both commands use when `--port` is not given. */
export const DEFAULT_PORT = 8765;

/** The flags' `--help` lines. */
export const BRIDGE_FLAGS_USAGE = `  --port N            TCP port (default ${DEFAULT_PORT}; 0 picks a free one)
  --host H            interface to listen on (default 127.0.0.1)
  --token T           the shared token (default: a random one, printed)
  --origin O          an allowed page origin; repeat for more, '*' for any
                      (default: localhost, 127.0.0.1 and [::1] on any port)
  --allow VERBS       comma-separated verbs to forward, e.g. l,w for a read-only
                      bridge (default: all of ${VERBS.join(',')})
  --max-frame BYTES   largest client frame (default 1048576)
  --max-streams N     open streams per WebSocket (default 100)
  --verbose           log connections and refusals to stderr`;

/** parseCommandArgs options for the bridge flags. */
export const bridgeFlagOptions = {
  port: { type: 'string' },
  host: { type: 'string' },
  token: { type: 'string' },
  origin: { type: 'string', multiple: true },
  allow: { type: 'string' },
  'max-frame': { type: 'string' },
  'max-streams': { type: 'string' },
  verbose: { type: 'boolean' },
} as const;

/** The parsed values of the bridge flags. */
export interface BridgeFlagValues {
  port?: string;
  host?: string;
  token?: string;
  origin?: string[];
  allow?: string;
  'max-frame'?: string;
  'max-streams'?: string;
}

/** Turns the parsed flags into bridge options; a bad value throws a {@link UsageError}. */
export function bridgeOptionsFromFlags(values: BridgeFlagValues): Omit<BridgeOptions, 'socketPath' | 'logger'> {
  const options: Omit<BridgeOptions, 'socketPath' | 'logger'> = { port: port(values.port) };
  if (values.host !== undefined) options.host = values.host;
  if (values.token !== undefined) {
    if (values.token === '') throw new UsageError('--token may not be empty');
    options.token = values.token;
  }
  if (values.origin !== undefined) options.origins = values.origin;
  if (values.allow !== undefined) options.allow = verbs(values.allow);
  const maxFrame = positiveInt(values['max-frame'], '--max-frame');
  if (maxFrame !== undefined) options.maxFrameBytes = maxFrame;
  const maxStreams = positiveInt(values['max-streams'], '--max-streams');
  if (maxStreams !== undefined) options.maxStreams = maxStreams;
  return options;
}

/** The port: 0 (any free one) is allowed, unlike the other numbers. */
function port(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PORT;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535)
    throw new UsageError(`--port takes a port number (0 for any free one), not '${text}'`);
  return n;
}

function verbs(text: string): Verb[] {
  const list = text
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  const unknown = list.filter((v) => !isVerb(v));
  if (unknown.length > 0)
    throw new UsageError(`--allow: unknown verb(s) ${unknown.join(', ')} (verbs: ${VERBS.join(', ')})`);
  return list.filter(isVerb);
}
