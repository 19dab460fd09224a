// The worker side of BridgeThread: runs a WebSocketBridge with the options it was given.
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log.js';
import { type BridgeOptions, WebSocketBridge } from '../websocket/bridge.js';

const { verbose, ...options } = workerData as Omit<BridgeOptions, 'logger'> & { verbose?: boolean };
const bridge = await WebSocketBridge.start({ ...options, logger: createLogger(verbose) });
/** What BridgeThread asks of the thread, once: close at once, or drain within `drain` ms (undefined: the default). */
export type ThreadOrder = { close: true } | { drain: number | undefined };

parentPort!.once(
  'message',
  (order: ThreadOrder) =>
    void ('drain' in order ? bridge.drain(order.drain) : bridge.close()).then(() => parentPort!.close()),
);
parentPort!.postMessage({ url: bridge.url, token: bridge.token, host: bridge.host, port: bridge.port });
