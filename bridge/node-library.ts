// `eric-bus` in Node (the package's "node" export condition): the browser-safe library, with a module
// URL given as a DataProcessingChannel's `worker` started as worker threads, so the same code runs in both.
import { setModuleWorkers } from '../src/workers/worker-pool.js';
import { nodeWorker } from './workers/spawn-thread.js';

setModuleWorkers((url) => nodeWorker(url)());

export * from '../src/index.js';
