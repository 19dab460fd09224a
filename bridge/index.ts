// Node-only entry point: `eric-bus/node`.
export {};
export { SocketServer } from './socket-server.js';
export type { SocketServerOptions } from './socket-server.js';
export { SocketClient } from './socket-client.js';
export type { ReadCommandOptions } from './read-command.js';
export { createLogger } from './log.js';
export type { Logger } from './log.js';
export { closeOnSignal } from './on-signal.js';
export { nodeWorker } from './node-worker.js';
export type { NodeWorkerHandle } from './node-worker.js';
