// The worker side of BridgeThread: runs a WebSocketBridge with the options it was given.
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log.js';
import { type BridgeOptions, WebSocketBridge } from '../websocket/bridge.js';

const { verbose, ...options } = workerData as Omit<BridgeOptions, 'logger'> & { verbose?: boolean };
const bridge = await WebSocketBridge.start({ ...options, logger: createLogger(verbose) });
// 'reload': reread the key file (SIGHUP with --jwt-key), answered { reloaded, error? }; anything else closes.
parentPort!.on('message', (message: unknown) => {
  if (message !== 'reload') return void bridge.close().then(() => parentPort!.close());
  bridge.reloadKeys().then(
    () => parentPort!.postMessage({ reloaded: true }),
    (error: Error) => parentPort!.postMessage({ reloaded: false, error: error.message }),
  );
});
parentPort!.postMessage({ url: bridge.url, token: bridge.token, host: bridge.host, port: bridge.port });
