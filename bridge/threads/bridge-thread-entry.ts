// The worker side of BridgeThread: runs a WebSocketBridge with the options it was given.
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log.js';
import { enableMetrics } from '../metrics/metrics.js';
import { WebSocketBridge } from '../websocket/bridge.js';
import type { BridgeThreadData, ThreadOrder } from './bridge-thread.js';
import { linkMetrics } from './thread-metrics.js';

const { verbose, logFormat, metrics, ...options } = workerData as BridgeThreadData;
if (metrics) await enableMetrics();
linkMetrics(parentPort!);
const bridge = await WebSocketBridge.start({ ...options, logger: createLogger(verbose, logFormat) });
parentPort!.on('message', (message: ThreadOrder | object) => {
  if (message === 'reload')
    return void bridge.reloadKeys().then(
      () => parentPort!.postMessage({ reloaded: true }),
      (error: Error) => parentPort!.postMessage({ reloaded: false, error: error.message }),
    );
  const ended = () => parentPort!.close();
  if ('drain' in message) void bridge.drain(message.drain).then(ended);
  else if ('close' in message) void bridge.close().then(ended);
  // Anything else is linkMetrics' (asks for this thread's metrics, answers to its own).
});
parentPort!.postMessage({ url: bridge.url, token: bridge.token, host: bridge.host, port: bridge.port });
