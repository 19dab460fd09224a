// The worker side of BridgeThread: runs a WebSocketBridge with the options it was given.
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log.js';
import { type BridgeOptions, WebSocketBridge } from '../websocket/bridge.js';

const { verbose, ...options } = workerData as Omit<BridgeOptions, 'logger'> & { verbose?: boolean };
const bridge = await WebSocketBridge.start({ ...options, logger: createLogger(verbose) });
/**
 * What BridgeThread asks of the thread: `reload`, reread the key file (SIGHUP with --jwt-key),
 * answered `{ reloaded, error? }`; or, once, close at once or drain within `drain` ms (undefined:
 * the default).
 */
export type ThreadOrder = 'reload' | { close: true } | { drain: number | undefined };

parentPort!.on('message', (order: ThreadOrder) => {
  if (order === 'reload')
    return void bridge.reloadKeys().then(
      () => parentPort!.postMessage({ reloaded: true }),
      (error: Error) => parentPort!.postMessage({ reloaded: false, error: error.message }),
    );
  void ('drain' in order ? bridge.drain(order.drain) : bridge.close()).then(() => parentPort!.close());
});
parentPort!.postMessage({ url: bridge.url, token: bridge.token, host: bridge.host, port: bridge.port });
