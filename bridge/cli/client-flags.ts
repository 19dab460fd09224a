/** Where `send` and `listen` find the server: its socket file, or a bridge in front of it (by URL). */
import { BridgeClient, ConnectionLost, type ProtocolClient, type SSEEvent } from '../../src/index.js';
import { UsageError } from '../errors.js';
import { loadWs } from '../peers.js';
import { SocketClient } from '../socket/client.js';
import { describeError } from './args.js';

/** parseCommandArgs options for the two ways to reach a server. */
export const clientFlagOptions = { socket: { type: 'string' }, url: { type: 'string', multiple: true } } as const;

/** The flags' `--help` lines. */
export const CLIENT_FLAGS_USAGE = `  --socket PATH   the server's socket file
  --url URL       or: a bridge's URL with its token, as 'eric-bus up' prints it
                  (ws://HOST:PORT/?token=…; wss:// for a bridge with TLS); repeat it
                  for bridges on one Redis: on losing one, the client moves to the
                  next and resumes its stream there`;

/** Rounds of reconnection attempts (over every --url) before a command through a bridge gives up: ConnectionLost. */
const BRIDGE_ATTEMPTS = 3;

/** A client for one command or stream, and how to let the process go afterwards. */
export interface Connection {
  client: ProtocolClient<string | SSEEvent>;
  /** An event as one JSON line (the socket's lines are printed as they came). */
  line(event: string | SSEEvent): string;
  /** How a failure reads on the terminal: for a bridge that could not be reached, with the reason. */
  describe(error: unknown): string;
  /** Closes the bridge's WebSocket or the socket server's session, so the process can exit at once. */
  close(): void;
}

/**
 * Runs `body` on a connection made as the flags say; resolves with the exit code `body` resolves
 * with (0 if none). Its failure (an error reply, a server or bridge out of reach) is one line on
 * stderr and exit code 1. The connection is closed after. With `sessions: false`, a socket server
 * gets each command on a connection of its own (one command needs no session: asking for one
 * would take two connections instead of one). Flags that cannot make a connection throw (a
 * {@link UsageError}; a `StartError` for `--url` without ws installed), for the command's exit code 2.
 */
export async function withConnection(
  values: { socket?: string; url?: string[] },
  body: (connection: Connection) => Promise<number | void>,
  { sessions = true }: { sessions?: boolean } = {},
): Promise<number> {
  const connection = await connect(values, sessions);
  try {
    return (await body(connection)) ?? 0;
  } catch (error) {
    process.stderr.write(`${connection.describe(error)}\n`);
    return 1;
  } finally {
    connection.close();
  }
}

/** Connects as the flags say: exactly one of `--socket PATH` or `--url URL`. */
async function connect(values: { socket?: string; url?: string[] }, sessions: boolean): Promise<Connection> {
  const { socket, url } = values;
  if (socket !== undefined && url !== undefined) throw new UsageError('give --socket or --url, not both');
  if (url !== undefined) {
    const target = url.map(bridgeUrl);
    const { WebSocket } = await loadWs('--url');
    // A browser does not say why a WebSocket failed, so BridgeClient cannot; ws does, and a
    // terminal should (a refused connection, an untrusted certificate).
    let why: string | undefined;
    const Recording = class extends WebSocket {
      constructor(target: string) {
        super(target);
        this.on('error', (error) => (why = error.message));
      }
    };
    const client = new BridgeClient(target, {
      WebSocket: Recording,
      reconnect: { maxAttempts: BRIDGE_ATTEMPTS },
    });
    return {
      client,
      line: (event) => JSON.stringify(event),
      describe: (error) =>
        `${describeError(error)}${error instanceof ConnectionLost && why !== undefined ? ` (last error: ${why})` : ''}`,
      close: () => client.close(),
    };
  }
  if (socket === undefined || socket === '') throw new UsageError('--socket PATH (or --url URL) is required');
  const client = new SocketClient(socket, { sessions });
  return { client, line: (event) => event as string, describe: describeError, close: () => void client.close() };
}

function bridgeUrl(text: string): URL {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || !['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol))
    throw new UsageError(`--url takes a bridge URL such as ws://127.0.0.1:8765/?token=…, not '${text}'`);
  return url;
}
