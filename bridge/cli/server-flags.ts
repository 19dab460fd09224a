/** The socket server's limits on the command line, shared by `eric-bus serve` and `eric-bus up`. */
import { DEFAULT_MAX_CHANNELS, DEFAULT_MAX_LISTENERS, type SocketServerOptions } from '../socket/server.js';
import { positiveInt } from './args.js';

/** The flags' `--help` lines. */
export const SERVER_FLAGS_USAGE = `  --max-channels N      channels the server holds at most (default ${DEFAULT_MAX_CHANNELS})
  --max-listeners N     listeners all its channels hold at most, in all (default ${DEFAULT_MAX_LISTENERS});
                        past either limit a command gets a LimitExceeded('…') reply`;

/** parseCommandArgs options for the server flags. */
export const serverFlagOptions = {
  'max-channels': { type: 'string' },
  'max-listeners': { type: 'string' },
} as const;

/** Turns the parsed flags into server options; a bad value throws a UsageError. */
export function serverOptionsFromFlags(values: {
  'max-channels'?: string;
  'max-listeners'?: string;
}): Pick<SocketServerOptions, 'maxChannels' | 'maxListeners'> {
  const options: Pick<SocketServerOptions, 'maxChannels' | 'maxListeners'> = {};
  const maxChannels = positiveInt(values['max-channels'], '--max-channels');
  if (maxChannels !== undefined) options.maxChannels = maxChannels;
  const maxListeners = positiveInt(values['max-listeners'], '--max-listeners');
  if (maxListeners !== undefined) options.maxListeners = maxListeners;
  return options;
}
