/**
 * The Node-only entry point: the socket server and client, the channel stores, the WebSocket bridge
 * (on a thread of its own too), and worker threads and a Redis work queue for a DataProcessingChannel.
 * @module eric-bus/node
 */

export type { TokenGrants, TokenRequest } from './access/sign.js';
export { DEFAULT_TTL_SECONDS, signToken } from './access/sign.js';
export type { JwtOptions } from './access/tokens.js';
export { MAX_TOKEN_BYTES } from './access/tokens.js';
export { SocketPathUnavailable, StartError } from './errors.js';
export type { Readiness } from './health/ops-routes.js';
export { askReady } from './health/ops-routes.js';
export type { LogFormat, ServerLogger } from './log.js';
export { createLogger } from './log.js';
export type { BusMetrics, Face, Hop, OpenCounts } from './metrics/metrics.js';
export { disableMetrics, enableMetrics } from './metrics/metrics.js';
export type { DeadLetter, RedisWorkQueueOptions } from './queue/redis-work-queue.js';
export { RedisWorkQueue, redisWorkQueue } from './queue/redis-work-queue.js';
export type { AccessPolicy } from './relay/access.js';
export { generateToken, isAllowedOrigin } from './relay/access.js';
export { closeOnSignal } from './signals.js';
export type { SocketClientOptions } from './socket/client.js';
export { SocketClient } from './socket/client.js';
export type { ReadCommandOptions } from './socket/read-command.js';
export type { SocketServerOptions } from './socket/server.js';
export { SocketServer } from './socket/server.js';
export type { MemoryStoreOptions } from './store/memory.js';
export { MemoryStore } from './store/memory.js';
export type { RedisConnectionOptions, RedisStoreOptions } from './store/redis.js';
export { RedisStore } from './store/redis.js';
export type {
  Awaitable,
  ChannelStore,
  EventFeed,
  FeedOptions,
  FeedStep,
  StoreStatus,
  StreamEnd,
} from './store/store.js';
export {
  DEFAULT_HISTORY,
  DEFAULT_HISTORY_BYTES,
  DEFAULT_MAX_CHANNELS,
  DEFAULT_MAX_LISTENERS,
  DEFAULT_WATCH_GRACE_MS,
} from './store/store.js';
export type { BridgeThreadOptions, RunningBridge } from './threads/bridge-thread.js';
export { BridgeThread } from './threads/bridge-thread.js';
export type { Up, UpOptions } from './up.js';
export { startUp } from './up.js';
export type { BridgeOptions, BridgeTls } from './websocket/bridge.js';
export {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_IN_FLIGHT_TOTAL,
  DEFAULT_MAX_STREAMS,
  DEFAULT_SSE_KEEP_ALIVE_MS,
  DEFAULT_SSE_OPEN_WAIT_MS,
  WebSocketBridge,
} from './websocket/bridge.js';
export type { NodeWorkerHandle } from './workers/spawn-thread.js';
export { nodeWorker } from './workers/spawn-thread.js';
