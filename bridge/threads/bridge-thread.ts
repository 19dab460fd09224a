/**
 * A bridge on its own worker thread, so relaying frames uses another core than the socket
 * server beside it (`eric-bus up --thread`): the same options and behaviour as
 * {@link WebSocketBridge}, reached through a handle.
 */
import { Worker } from 'node:worker_threads';
import { StartError } from '../errors.js';
import type { LogFormat } from '../log.js';
import { metrics } from '../metrics/metrics.js';
import { loadWs } from '../peers.js';
import type { BridgeOptions } from '../websocket/bridge.js';
import { linkMetrics } from './thread-metrics.js';

/** What a running bridge offers, wherever it runs. */
export interface RunningBridge {
  readonly socketPath: string;
  readonly host: string;
  readonly port: number;
  readonly token: string;
  /** The URL to give clients, token included. */
  readonly url: string;
  /** Stops accepting, closes every WebSocket (and the Unix connections they opened). */
  close(): Promise<void>;
  /** Rereads the signed tokens' key file; rejects (keeping the old keys) when it cannot be used. */
  reloadKeys(): Promise<void>;
  /** Drains within `deadlineMs`, then closes (docs/bridge.md, "Draining a bridge"). */
  drain(deadlineMs?: number): Promise<void>;
}

/**
 * Options of {@link BridgeThread.start}: the bridge's, with `verbose` for a logger (functions cannot
 * cross threads).
 */
export type BridgeThreadOptions = Omit<BridgeOptions, 'logger'> & { verbose?: boolean; logFormat?: LogFormat };

/**
 * What BridgeThread asks of the thread: `reload`, reread the key file (SIGHUP with --jwt-key),
 * answered `{ reloaded, error? }`; or, once, close at once or drain within `drain` ms (undefined:
 * the default).
 */
export type ThreadOrder = 'reload' | { close: true } | { drain: number | undefined };

/** What the thread is given: the options, and whether metrics are on (they are counted there too). */
export type BridgeThreadData = BridgeThreadOptions & { metrics: boolean };

/** A {@link WebSocketBridge} on its own worker thread, so it does not share a core with the socket server. */
export class BridgeThread implements RunningBridge {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  #closing: Promise<void> | undefined;

  private constructor(
    worker: Worker,
    readonly socketPath: string,
    readonly host: string,
    readonly port: number,
    readonly token: string,
    readonly url: string,
  ) {
    this.#worker = worker;
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
  }

  /**
   * Starts the bridge in a new worker thread; resolves once it listens. Rejects with a
   * {@link StartError} when ws, an optional peer dependency, is not installed.
   */
  static async start(options: BridgeThreadOptions): Promise<BridgeThread> {
    // Looked for here, not only in the thread: an error thrown there comes back without its class.
    await loadWs('The bridge');
    const workerData: BridgeThreadData = { ...options, metrics: metrics !== undefined };
    const worker = new Worker(new URL('./bridge-thread-entry.js', import.meta.url), { workerData });
    const started = await new Promise<{ url: string; token: string; host: string; port: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`The bridge thread exited (${code}) before listening`)));
    });
    worker.removeAllListeners('exit');
    const unlink = linkMetrics(worker);
    worker.once('exit', unlink);
    worker.on('error', (error) => process.stderr.write(`eric-bus: error: bridge thread: ${error.message}\n`));
    return new BridgeThread(worker, options.socketPath, started.host, started.port, started.token, started.url);
  }

  /** Rereads the key file in the thread (as WebSocketBridge.reloadKeys). */
  reloadKeys(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: { reloaded?: boolean; error?: string }) => {
        if (message.reloaded === undefined) return;
        this.#worker.off('message', onMessage);
        if (message.reloaded) resolve();
        else reject(new StartError(message.error ?? 'the keys could not be reloaded'));
      };
      this.#worker.on('message', onMessage);
      this.#worker.postMessage('reload');
    });
  }

  /** Closes the bridge (as WebSocketBridge.close) and ends the thread. */
  close(): Promise<void> {
    return this.#end({ close: true });
  }

  /** Drains the bridge (as WebSocketBridge.drain), then ends the thread; once closing, waits for that. */
  drain(deadlineMs?: number): Promise<void> {
    return this.#end({ drain: deadlineMs });
  }

  /** Tells the thread how to end, once: a later close or drain waits for the first. */
  #end(order: ThreadOrder): Promise<void> {
    this.#closing ??= (async () => {
      this.#worker.postMessage(order);
      await this.#exited;
    })();
    return this.#closing;
  }
}
