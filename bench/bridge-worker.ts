// A bridge in a worker thread, for the bridge benchmark: posts its URL, closes on 'close'.
import { parentPort, workerData } from 'node:worker_threads';
import { WebSocketBridge } from '../bridge/index.js';

const bridge = await WebSocketBridge.start({ socketPath: (workerData as { socketPath: string }).socketPath, port: 0 });
parentPort!.on('message', (message) => {
  if (message === 'close') void bridge.close().then(() => parentPort!.close());
});
parentPort!.postMessage(bridge.url);
