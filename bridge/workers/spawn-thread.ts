// worker_threads as a DataProcessingChannel's workers (src/ may not import Node modules, so this lives here).
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { WorkerHandle } from '../../src/workers/worker-pool.js';
import { nodeEndpoint } from './comlink-endpoint.js';

/** A worker thread as the pool drives it; `thread` is the underlying `Worker`. */
export interface NodeWorkerHandle extends WorkerHandle {
  readonly thread: Worker;
}

/**
 * The `worker` option for Node: a factory starting worker threads from `module` (a path or
 * `file:` URL of a JavaScript module that calls `exposeHandler` from `eric-bus/worker`).
 */
export function nodeWorker(module: string | URL, options?: WorkerOptions): () => NodeWorkerHandle {
  return () => {
    // worker_threads takes file: URLs only as URL objects; accept their text form too.
    const thread = new Worker(
      typeof module === 'string' && module.startsWith('file:') ? new URL(module) : module,
      options,
    );
    return {
      thread,
      endpoint: nodeEndpoint(thread),
      terminate: () => thread.terminate(),
      onDeath(report) {
        thread.on('error', (error) => report(`uncaught ${error instanceof Error ? error.message : String(error)}`));
        thread.on('exit', (code) => report(`exited with code ${code}`));
      },
      keepAlive(busy) {
        // An idle pool does not hold the process open; a busy one does, until its work is back.
        if (busy) thread.ref();
        else thread.unref();
      },
    };
  };
}
