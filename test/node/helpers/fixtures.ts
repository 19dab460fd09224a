/**
 * The Node tests' fixtures (vitest `test.extend`): a test names what it needs in its first
 * argument, `it('…', async ({ client, server }) => …)`, gets it fresh, and everything is closed
 * after the test, last started first, pass or fail. A describe block changes a fixture's options
 * with `it.override('serverOptions', { … })`. Nothing is started for a test that does not ask.
 */
import { join } from 'node:path';
import { test as base } from 'vitest';
import { WebSocket } from 'ws';
import {
  type BridgeOptions,
  type JwtOptions,
  RedisStore,
  SocketClient,
  type SocketClientOptions,
  type SocketServer,
} from '../../../bridge/index.js';
import { BridgeClient, type BridgeClientOptions, type BridgeUrls } from '../../../src/index.js';
import { silentLogger } from '../../../src/log.js';
import { BridgeProcess, FrameClient, type Stack, startStack } from './bridge.js';
import { type CliOptions, type Running, startCli } from './cli.js';
import { startPythonServer } from './python.js';
import { startRedis } from './redis.js';
import { startServer, type TestServerOptions, tempDir } from './socket.js';
import { hmacKeyFile } from './tokens.js';

/** The servers of eric-sse's socket protocol the conformance scenarios run against (ours: in memory, on Redis). */
export type ProtocolServer = 'ours' | 'ours-on-redis' | 'eric-sse';

/** What the `signedStack` fixture starts: the bridge's options, its `jwt` ones but the key, the server's. */
export interface SignedStackOptions {
  bridge?: Omit<Partial<BridgeOptions>, 'jwt'>;
  jwt?: Omit<JwtOptions, 'keyFile'>;
  server?: TestServerOptions;
}

/** The `signedStack` fixture. */
export type SignedStack = (options?: SignedStackOptions) => Promise<{ stack: Stack; secret: string; logged: string[] }>;

/** Registers a cleanup to run once the test (or the file, for a file fixture) is over. */
type OnCleanup = (cleanup: () => Promise<void> | void) => void;

/**
 * A fixture that needs no other fixture. Vitest reads a fixture's dependencies from the pattern of
 * its first parameter, which must then be an empty one; this writes it once.
 */
function standalone<T>(setup: (onCleanup: OnCleanup) => T) {
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern.
  return ({}: object, { onCleanup }: { onCleanup: OnCleanup }) => setup(onCleanup);
}

/** Closes what a test started once it is over, last first; every one is closed even if one fails. */
function closeAfter(onCleanup: OnCleanup) {
  const started: { close(): unknown }[] = [];
  onCleanup(async () => {
    const failures: unknown[] = [];
    for (const item of started.splice(0).reverse()) {
      try {
        await item.close();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw failures[0];
  });
  return <T extends { close(): unknown }>(item: T): T => {
    started.push(item);
    return item;
  };
}

export const it = base
  /** A fresh temp dir, removed after the test. */
  .extend(
    'dir',
    standalone((onCleanup) => {
      const { dir, cleanup } = tempDir();
      onCleanup(cleanup);
      return dir;
    }),
  )
  /** Starts SocketServers (each on a socket in a temp dir of its own), shut down after the test. */
  .extend(
    'startServer',
    standalone((onCleanup) => {
      const track = closeAfter(onCleanup);
      return async (options?: TestServerOptions): Promise<SocketServer> => track(await startServer(options)).server;
    }),
  )
  /** Options of the `server` fixture; a describe block overrides them. */
  .extend('serverOptions', {} as TestServerOptions)
  /** A SocketServer with `serverOptions`. */
  .extend('server', ({ startServer, serverOptions }) => startServer(serverOptions))
  /** Options of the `client` fixture; a describe block overrides them (`{ sessions: false }`). */
  .extend('clientOptions', {} as SocketClientOptions)
  /** A SocketClient of `server`. */
  .extend('client', ({ server, clientOptions }) => new SocketClient(server.path, clientOptions))
  /** A channel created through `client` and a listener registered on it, by id. */
  .extend('registered', async ({ client }) => {
    const c = await client.createChannel();
    return { c, l: await client.register(c) };
  })
  /** Starts a SocketServer with a bridge in front, both closed after the test (the bridge a test restarted too). */
  .extend(
    'startStack',
    standalone((onCleanup) => {
      const track = closeAfter(onCleanup);
      return async (options?: Partial<BridgeOptions>, serverOptions?: TestServerOptions): Promise<Stack> =>
        track(await startStack(options, serverOptions));
    }),
  )
  /** Starts `eric-bus bridge` processes (to kill and restart), killed after the test. */
  .extend(
    'startBridgeProcess',
    standalone((onCleanup) => {
      const track = closeAfter(onCleanup);
      return async (socketPath: string, token: string): Promise<BridgeProcess> =>
        track(await BridgeProcess.start(socketPath, token));
    }),
  )
  /** Options of the `stack` fixture's bridge; a describe block overrides them. */
  .extend('bridgeOptions', {} as Partial<BridgeOptions>)
  /** A SocketServer with `serverOptions` and a bridge with `bridgeOptions`. */
  .extend('stack', ({ startStack, bridgeOptions, serverOptions }) => startStack(bridgeOptions, serverOptions))
  /**
   * Starts a stack whose bridge also takes tokens signed with an HMAC secret (`jwt` adds to that):
   * the stack, the secret to sign with, and the lines its server logged.
   */
  .extend(
    'signedStack',
    ({ startStack, dir }): SignedStack =>
      async ({ bridge = {}, jwt = {}, server = {} } = {}) => {
        const { file, secret } = hmacKeyFile(dir);
        const logged: string[] = [];
        const logger = { ...silentLogger, info: (line: string) => void logged.push(line) };
        const stack = await startStack({ ...bridge, jwt: { ...jwt, keyFile: file } }, { logger, ...server });
        return { stack, secret, logged };
      },
  )
  /** A raw frame client of `stack`'s bridge. */
  .extend('frames', async ({ stack }, { onCleanup }) => {
    const frames = await FrameClient.open(stack.bridge.url);
    onCleanup(() => frames.close());
    return frames;
  })
  /** Makes BridgeClients, closed after the test (so none keeps reconnecting to a closed bridge). */
  .extend(
    'bridgeClient',
    standalone((onCleanup) => {
      const track = closeAfter(onCleanup);
      return (url: BridgeUrls, options?: BridgeClientOptions): BridgeClient => track(new BridgeClient(url, options));
    }),
  )
  /** A BridgeClient of `stack`'s bridge, on the `ws` package's WebSocket (Node 20 has none of its own). */
  .extend('remote', ({ stack, bridgeClient }) => bridgeClient(stack.bridge.url, { WebSocket }))
  /** Starts the built `eric-bus` command (see ./cli.ts), killed after the test if it is still running. */
  .extend(
    'startCli',
    standalone((onCleanup) => {
      const track = closeAfter(onCleanup);
      return async (
        args: string[],
        ready: string | RegExp,
        options?: CliOptions,
      ): Promise<Running & { match: RegExpExecArray | null }> => track(await startCli(args, ready, options));
    }),
  )
  /**
   * One server of each kind per test file, started when first asked for: ours, and eric-sse's
   * (the Python peer). Scenarios create their own channels, so they can share a server.
   */
  .extend(
    'protocolServers',
    { scope: 'file' },
    standalone((onCleanup) => {
      const track = closeAfter(onCleanup);
      const { dir, cleanup } = tempDir();
      track({ close: cleanup });
      const running = new Map<ProtocolServer, Promise<{ path: string }>>();
      const start = async (kind: ProtocolServer) => {
        if (kind === 'ours') return startServer();
        if (kind === 'ours-on-redis') {
          const redis = track(await startRedis());
          return startServer({ store: await RedisStore.connect(redis.url) });
        }
        const path = join(dir, 'eric-sse.sock');
        return { path, close: await startPythonServer(path) };
      };
      return {
        /** The socket path of the `kind` server. */
        async path(kind: ProtocolServer): Promise<string> {
          let server = running.get(kind);
          if (!server) running.set(kind, (server = start(kind).then(track)));
          return (await server).path;
        },
      };
    }),
  )
  /** Which server `protocolServer` is; a describe block overrides it. */
  .extend('protocol', 'ours' as ProtocolServer)
  /** The socket path of the `protocol` server. */
  .extend('protocolServer', ({ protocol, protocolServers }) => protocolServers.path(protocol))
  /** A SocketClient of the `protocol` server. */
  .extend('protocolClient', ({ protocolServer }) => new SocketClient(protocolServer));
