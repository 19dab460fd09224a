/**
 * The operations flags of the server commands (docs/operations.md): `--log-format` on all of them,
 * `--drain-ms`, `--metrics` and `--metrics-port` on `bridge` and `up`, `--http-port` on `serve`.
 */
import { UsageError } from '../errors.js';
import { askReady, startOpsServer } from '../health/ops-routes.js';
import { createLogger, LOG_FORMATS, type LogFormat, type ServerLogger } from '../log.js';
import { enableMetrics } from '../metrics/metrics.js';
import { closeOnSignal, DEFAULT_DRAIN_MS } from '../signals.js';
import { portArg, positiveInt, stringFlags } from './args.js';

/** `--help` lines, descriptions starting at `column`. */
function usage(rows: readonly (readonly string[])[], column: number): string {
  return rows
    .map(([flag, ...text]) => text.map((line, i) => (i === 0 ? `  ${flag}` : '').padEnd(column) + line).join('\n'))
    .join('\n');
}

const LOG_FORMAT_ROW = [
  '--log-format F',
  'log lines as text (default) or json: one object per line on',
  'stderr (time, level, msg, connection, verb, channel)',
];

/** `--log-format`'s `--help` lines, descriptions starting at `column`. */
export function logFormatUsage(column: number): string {
  return usage([LOG_FORMAT_ROW], column);
}

/** `serve --http-port`'s `--help` lines. */
export function httpPortUsage(column: number): string {
  return usage([['--http-port N', 'serve /healthz, /readyz and /metrics on this port, without a', 'token']], column);
}

/** The bridge's operations flags' `--help` lines, descriptions starting at `column`. */
export function bridgeOpsUsage(column: number): string {
  return usage(
    [
      [
        '--drain-ms MS',
        'on SIGTERM/SIGINT, drain: refuse new clients (503), end streams',
        'with reconnect so clients move to another bridge, exit within',
        `MS (default ${DEFAULT_DRAIN_MS})`,
      ],
      ['--metrics', 'serve Prometheus metrics at /metrics on the port, behind the token'],
      [
        '--metrics-port N',
        'serve /metrics, /healthz and /readyz on a port of their own,',
        'without a token (bind it where only the scraper reaches)',
      ],
      LOG_FORMAT_ROW,
    ],
    column,
  );
}

/** parseCommandArgs options of `serve`'s operations flags. */
export const serveOpsOptions = stringFlags('log-format', 'http-port');

/** parseCommandArgs options of the bridge's operations flags. */
export const bridgeOpsOptions = {
  ...stringFlags('drain-ms', 'metrics-port', 'log-format'),
  metrics: { type: 'boolean' },
} as const;

/** The logger the flags ask for: `--verbose` and `--log-format`. */
export function loggerFromFlags(values: { verbose?: boolean; 'log-format'?: string }): ServerLogger {
  const format = values['log-format'] ?? 'text';
  if (!(LOG_FORMATS as readonly string[]).includes(format))
    throw new UsageError(`--log-format is ${LOG_FORMATS.join(' or ')}, not ${format}`);
  return createLogger(values.verbose ?? false, format as LogFormat);
}

/** What the bridge's operations flags say. */
export interface BridgeOps {
  drainMs: number;
  /** Metrics on, on the bridge's port (`--metrics`). */
  metricsOnPort: boolean;
  /** Metrics on, on a port of their own (`--metrics-port`). */
  metricsPort: number | undefined;
}

/** Reads `--drain-ms`, `--metrics` and `--metrics-port`; turns metrics on when either asks. */
export async function bridgeOpsFromFlags(values: {
  'drain-ms'?: string;
  metrics?: boolean;
  'metrics-port'?: string;
}): Promise<BridgeOps> {
  const drainMs = positiveInt(values['drain-ms'], '--drain-ms') ?? DEFAULT_DRAIN_MS;
  const metricsPort = portArg(values['metrics-port'], '--metrics-port');
  const metricsOnPort = values.metrics === true && metricsPort === undefined;
  if (metricsOnPort || metricsPort !== undefined) await enableMetrics();
  return { drainMs, metricsOnPort, metricsPort };
}

/**
 * Serves `/metrics`, `/healthz` and `/readyz` on `port` for the socket server at `socketPath`
 * (`--metrics-port`, `serve --http-port`); returns the URL to print.
 */
export async function serveOps(port: number, host: string, socketPath: string): Promise<string> {
  const server = await startOpsServer(port, host, { ready: () => askReady(socketPath), metrics: 'open' });
  const bound = (server.address() as { port: number }).port;
  return `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`;
}

/**
 * What `bridge` and `up` do once running, as their flags say: drain on a signal (from before the
 * `banner` is printed, so that whoever reads it may signal at once), and serve the metrics port if
 * asked (its address printed after the banner, as `<program>: metrics at URL`).
 */
export async function runOps(
  ops: BridgeOps,
  running: { drain(deadlineMs: number): Promise<void> },
  where: { program: string; host: string | undefined; socketPath: string },
  banner: readonly string[],
  hangup?: () => void,
): Promise<void> {
  drainOnSignal((deadlineMs) => running.drain(deadlineMs), ops.drainMs, hangup);
  for (const line of banner) console.log(`${where.program}: ${line}`);
  if (ops.metricsPort === undefined) return;
  const at = await serveOps(ops.metricsPort, where.host ?? '127.0.0.1', where.socketPath);
  console.log(`${where.program}: metrics at ${at}metrics`);
}

/**
 * On SIGTERM or SIGINT, drains (`drain`), then exits; whatever happens, within `drainMs` (a
 * client that holds on is not waited for longer). SIGHUP too, unless `hangup` is given: then SIGHUP
 * runs it and the process goes on (`--jwt-key`: the keys are reread).
 */
export function drainOnSignal(
  drain: (deadlineMs: number) => Promise<void>,
  drainMs: number,
  hangup?: () => void,
): void {
  closeOnSignal(() => {
    setTimeout(() => process.exit(0), drainMs).unref();
    return drain(drainMs);
  }, hangup);
}
