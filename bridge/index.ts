// Node-only entry point: `eric-bus/node`.
export {};
export { nodeWorker } from './node-worker.js';
export type { NodeWorkerHandle } from './node-worker.js';
