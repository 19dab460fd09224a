/** The bridge tests' parts: a socket server with a bridge in front, a raw frame client. Tests get them as fixtures. */
import { readdirSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { type BridgeOptions, WebSocketBridge } from '../../../bridge/index.js';
import { Message, type SSEChannel } from '../../../src/index.js';
import type { FrameId, ReplyFrame } from '../../../src/wire/bridge-frames.js';
import { until } from './async.js';
import { type Running, startCli } from './cli.js';
import { type Served, startServer, type TestServerOptions } from './socket.js';

/** A SocketServer and a bridge in front of it. */
export interface Stack {
  backend: Served;
  /** A test that restarts the bridge puts the new one here, so that `close` closes it. */
  bridge: WebSocketBridge;
  /** Closes the bridge, then the server. */
  close: () => Promise<void>;
}

/** A SocketServer in a temp dir and a bridge to it on a free loopback port. */
export async function startStack(
  options: Partial<BridgeOptions> = {},
  serverOptions?: TestServerOptions,
): Promise<Stack> {
  const backend = await startServer(serverOptions);
  try {
    const stack: Stack = {
      backend,
      bridge: await WebSocketBridge.start({ socketPath: backend.path, port: 0, ...options }),
      close: async () => {
        await stack.bridge.close();
        await backend.close();
      },
    };
    return stack;
  } catch (error) {
    await backend.close();
    throw error;
  }
}

/** A `ws` client speaking raw frames: send objects, await the frames of one id in order. */
export class FrameClient {
  readonly ws: WebSocket;
  readonly #queues = new Map<FrameId | null, ReplyFrame[]>();
  readonly #waiters = new Map<FrameId | null, () => void>();
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, options?: ConstructorParameters<typeof WebSocket>[2]) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ReplyFrame;
      const queue = this.#queues.get(frame.id) ?? [];
      queue.push(frame);
      this.#queues.set(frame.id, queue);
      this.#waiters.get(frame.id)?.();
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
  }

  /** Resolves once open. */
  static async open(url: string, options?: ConstructorParameters<typeof WebSocket>[2]): Promise<FrameClient> {
    const client = new FrameClient(url, options);
    await new Promise<void>((resolve, reject) => {
      client.ws.once('open', () => resolve());
      client.ws.once('error', reject);
    });
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame carrying `id` (null: the bridge's complaints about unusable frames). */
  async next(id: FrameId | null): Promise<ReplyFrame> {
    for (;;) {
      const frame = this.#queues.get(id)?.shift();
      if (frame) return frame;
      await new Promise<void>((resolve) => this.#waiters.set(id, resolve));
    }
  }

  /** How many frames of `id` have arrived and not been taken. */
  pending(id: FrameId | null): number {
    return this.#queues.get(id)?.length ?? 0;
  }

  /** Sends a command and returns its one reply frame. */
  async call(id: FrameId, command: Record<string, unknown>): Promise<ReplyFrame> {
    this.send({ id, ...command });
    return this.next(id);
  }

  /** Frames of `id` up to and including the first that is not `data` (or `count` of them). */
  async until(id: FrameId, count = Infinity): Promise<ReplyFrame[]> {
    const frames: ReplyFrame[] = [];
    while (frames.length < count) {
      const frame = await this.next(id);
      frames.push(frame);
      if (!('data' in frame)) break;
    }
    return frames;
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.closed;
  }
}

/**
 * Tries a WebSocket upgrade: resolves 'open', the HTTP status the bridge answered instead, or
 * the code (else the message) of the error that stopped it (a TLS failure, say).
 */
export function upgrade(
  url: string,
  options: ConstructorParameters<typeof WebSocket>[2] = {},
): Promise<string | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => {
      ws.close();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (error: NodeJS.ErrnoException) => {
      if (!/Unexpected server response/.test(error.message)) resolve(error.code ?? error.message);
    });
  });
}

/** How many file descriptors this process holds (Linux). */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * For backpressure tests, with the client not reading: dispatches messages 1…`total` (`{ i, payload }`,
 * 1 KB each) to the listener, then waits until the server stops taking them (the queue's length
 * holds still; at most 8 s), and returns how many are still queued.
 */
export async function floodUntilBackedUp(channel: SSEChannel, listenerId: string, total: number): Promise<number> {
  const payload = 'x'.repeat(1000);
  for (let n = 1; n <= total; n += 500) {
    for (let i = n; i < Math.min(n + 500, total + 1); i++)
      channel.dispatch(listenerId, new Message('bulk', { i, payload }));
    await new Promise((resolve) => setImmediate(resolve));
  }
  let last = -1;
  for (let i = 0; i < 400 && channel.queueLength(listenerId) !== last; i++) {
    last = channel.queueLength(listenerId);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return channel.queueLength(listenerId);
}

/** The bridge as its own process (`eric-bus bridge`), to kill and start again on the same port. */
export class BridgeProcess {
  #running: Running | undefined;
  #port = 0;
  #url = '';

  private constructor(
    readonly socketPath: string,
    readonly token: string,
  ) {}

  /** Starts `eric-bus bridge` in front of `socketPath` on a free port. */
  static async start(socketPath: string, token: string): Promise<BridgeProcess> {
    const bridge = new BridgeProcess(socketPath, token);
    await bridge.restart();
    return bridge;
  }

  /** The URL clients connect to, token included. */
  get url(): string {
    return this.#url;
  }

  /** Starts the process again, on the port it had (a free one the first time). */
  async restart(): Promise<void> {
    const args = ['bridge', '--socket', this.socketPath, '--port', String(this.#port), '--token', this.token];
    const running = await startCli(args, /connect to (ws:\/\/\S+)/);
    this.#running = running;
    this.#url = running.match![1]!;
    this.#port = Number(new URL(this.#url).port);
  }

  /**
   * Kills the process (SIGKILL) with events in flight: it is frozen first (SIGSTOP), `produce` runs,
   * and once `taken()` says the server has written everything produced into the frozen bridge's
   * sockets, it dies with them. Without resume, those events are lost.
   */
  async killMidStream(produce: () => void, taken: () => boolean): Promise<void> {
    const running = this.#running!;
    running.child.kill('SIGSTOP');
    produce();
    await until(taken, 'the server to write into the frozen bridge');
    await running.close();
  }

  /** Kills the process if it runs (test cleanup). */
  async close(): Promise<void> {
    await this.#running?.close();
  }
}

/**
 * A stand-in socket server (the bridge speaks nothing but the protocol) that holds every command
 * until `release()`, so a test sees exactly how many Unix connections the bridge has open at once.
 */
export async function heldBackend(path: string) {
  const held: Socket[] = [];
  const commands: Record<string, unknown>[] = [];
  let open = 0;
  let peak = 0;
  let holding = true;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    let text = '';
    socket.on('data', (chunk) => (text += chunk));
    socket.once('end', () => {
      const command = JSON.parse(text) as Record<string, unknown>;
      // Like eric-sse's server, it offers no sessions: its clients then send one command per connection.
      if (command.v === 'hello') return void socket.end(`InvalidMessageFormat('${text}')`);
      peak = Math.max(peak, ++open);
      socket.once('close', () => open--);
      commands.push(command);
      if (holding) held.push(socket);
      else socket.end('ack');
    });
  });
  await new Promise<void>((resolve) => server.listen({ path, backlog: 4096 }, resolve));
  return {
    path,
    commands,
    /** Connections open now, and the most ever open at once. */
    get open() {
      return open;
    },
    get peak() {
      return peak;
    },
    /** Answers `ack` to every held command, and to every later one at once. */
    release() {
      holding = false;
      for (const socket of held.splice(0)) socket.end('ack');
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
