// The worker side of BridgeThread: runs a WebSocketBridge with the options it was given.
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log.js';
import { type BridgeOptions, WebSocketBridge } from '../websocket/bridge.js';

const { verbose, ...options } = workerData as Omit<BridgeOptions, 'logger'> & { verbose?: boolean };
const bridge = await WebSocketBridge.start({ ...options, logger: createLogger(verbose) });
parentPort!.once('message', () => void bridge.close().then(() => parentPort!.close()));
parentPort!.postMessage({ url: bridge.url, token: bridge.token, host: bridge.host, port: bridge.port });
