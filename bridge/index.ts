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
export { WebSocketBridge, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_STREAMS, DEFAULT_HEARTBEAT_MS } from './bridge.js';
export type { BridgeOptions } from './bridge.js';
export { generateToken, isAllowedOrigin } from './bridge-auth.js';
export type { AccessPolicy } from './bridge-auth.js';
export { startUp } from './up.js';
export type { Up, UpOptions } from './up.js';
export { BridgeThread } from './bridge-thread.js';
export type { BridgeThreadOptions, RunningBridge } from './bridge-thread.js';
