/** The socket server's command-line flags, shared by `eric-bus serve` and `eric-bus up`. */
import { UsageError } from '../errors.js';
import {
  DEFAULT_HISTORY,
  DEFAULT_WATCH_GRACE_MS,
  MAX_WATCH_GRACE_MS,
  type SocketServerOptions,
} from '../socket/server.js';
import { nonNegativeInt } from './args.js';

/** The flags' `--help` lines, descriptions starting at `column` (to line up with the command's other options). */
export function serverFlagsUsage(column: number): string {
  const rows = [
    [
      '--history N',
      'delivered events each listener keeps, so a dropped stream',
      `resumes exactly (default ${DEFAULT_HISTORY}; 0 keeps none)`,
    ],
    [
      '--watch-grace MS',
      "how long a watch's listener outlives its stream, waiting",
      `for its client to resume it (default ${DEFAULT_WATCH_GRACE_MS})`,
    ],
  ];
  return rows
    .map(([flag, ...text]) => text.map((line, i) => (i === 0 ? `  ${flag}` : '').padEnd(column) + line).join('\n'))
    .join('\n');
}

/** parseCommandArgs options for the server flags. */
export const serverFlagOptions = {
  history: { type: 'string' },
  'watch-grace': { type: 'string' },
} as const;

/** Turns the parsed flags into server options; a bad value throws a UsageError. */
export function serverOptionsFromFlags(values: {
  history?: string;
  'watch-grace'?: string;
}): Pick<SocketServerOptions, 'history' | 'watchGraceMs'> {
  const options: Pick<SocketServerOptions, 'history' | 'watchGraceMs'> = {};
  const history = nonNegativeInt(values.history, '--history');
  if (history !== undefined) options.history = history;
  const grace = nonNegativeInt(values['watch-grace'], '--watch-grace');
  if (grace !== undefined && grace > MAX_WATCH_GRACE_MS)
    throw new UsageError(`--watch-grace takes at most ${MAX_WATCH_GRACE_MS} ms, not ${grace}`);
  if (grace !== undefined) options.watchGraceMs = grace;
  return options;
}
