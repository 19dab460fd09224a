// `eric-bus/worker` in Node: what a worker_threads module calls to serve a DataProcessingChannel.
import { parentPort } from 'node:worker_threads';
// comlink's ESM build, for a quick start (see comlink-endpoint.ts); its `transfer` marks what its `expose` sends.
import { expose, transfer } from 'comlink/dist/esm/comlink.mjs';
import { batchRunner, type MessageHandler } from '../../src/workers/protocol.js';
import { nodeEndpoint } from './comlink-endpoint.js';

export type { MessageHandler, WorkerMessage } from '../../src/workers/protocol.js';

/**
 * Registers `handler` as this worker thread's processing function: it receives each message
 * (`{ type, payload }`) and returns or resolves the processed payload.
 */
export function exposeHandler<P = unknown, R = unknown>(handler: MessageHandler<P, R>): void {
  if (!parentPort) throw new Error('exposeHandler must be called inside a worker thread');
  expose(batchRunner(handler as MessageHandler, transfer), nodeEndpoint(parentPort));
}
