/**
 * eric-bus, the browser-safe library: the in-page bus, worker offload, and the remote client.
 * Wire internals (frame parsing, verb tables, the shape of each verb's command) live in their
 * modules and are not part of the API. Of the wire, three names are: `Command`, what
 * `sendPayload` sends (one shape per verb, told apart by its `v`: `Extract<Command, { v: 'd' }>`
 * is a dispatch); `Verb`, that `v`, as the bridge's `allow` option lists them; and
 * `MAX_JSON_DEPTH`, the nesting past which a payload is refused.
 * @module eric-bus
 */

// The bus: messages, listeners, channels, their queues and ids.

export type { ChannelOptions } from './bus/channel.js';
export { AbstractChannel } from './bus/channel.js';
export { SSEChannelContainer } from './bus/container.js';
export type { Action } from './bus/distributed.js';
export { SimpleDistributedApplicationListener } from './bus/distributed.js';
export type { IdGenerator, IdKind } from './bus/ids.js';
export { resetIdGenerators, sequentialIds, setIdGenerator } from './bus/ids.js';
export { MessageQueueListener } from './bus/listener.js';
export type { JsonValue, SignedPayload } from './bus/message.js';
export {
  MESSAGE_TYPE_CLOSED,
  MESSAGE_TYPE_END_OF_STREAM,
  MESSAGE_TYPE_GAP,
  MESSAGE_TYPE_INTERNAL_ERROR,
  Message,
  SignedMessage,
} from './bus/message.js';
export type { MessageQueue, QueueFactory } from './bus/queue.js';
export { ChunkedQueue, memoryQueues } from './bus/queue.js';
export type { SSEChannelOptions, SSEEvent } from './bus/sse.js';
export { parseEventStream, SSEChannel, toEventStream } from './bus/sse.js';

// Workers: a channel whose queue is drained on a pool of workers.

export type {
  DataProcessingChannelOptions,
  ProcessingError,
  ProcessingProgress,
} from './workers/data-processing-channel.js';
export { DataProcessingChannel } from './workers/data-processing-channel.js';
export type { BatchMeta, MessageHandler, WorkerMessage } from './workers/protocol.js';
export type { QueuedMessage, QueuedResult, QueueMember, QueueOutcome, WorkQueue } from './workers/work-queue.js';
export type { WorkerHandle, WorkerSource } from './workers/worker-pool.js';

// The remote client: the socket protocol's verbs over the WebSocket bridge (one WebSocket for every tab
// with shareAcrossTabs), channels shared by the tabs of an origin, and the wire's public names.

export type { BackoffOptions } from './remote/backoff.js';
export type {
  BridgeClientOptions,
  BridgeState,
  ProbeFetch,
  WebSocketConstructor,
  WebSocketLike,
} from './remote/bridge-client.js';
export { BridgeClient, DEFAULT_STREAM_WINDOW } from './remote/bridge-client.js';
export type { BridgeUrls } from './remote/bridge-urls.js';
export type { StreamOptions } from './remote/protocol-client.js';
export { ProtocolClient } from './remote/protocol-client.js';
export type { RemoteListener } from './remote/remote-channel.js';
export { RemoteChannel } from './remote/remote-channel.js';
export type { TokenSource } from './remote/token-refresh.js';
export type { TabShare } from './tabs/shared-socket.js';
export type { TabChannelOptions } from './tabs/tab-channel.js';
export { TabChannel } from './tabs/tab-channel.js';
export { TOKEN_EXPIRED_CLOSE } from './wire/bridge-frames.js';
export { MAX_JSON_DEPTH } from './wire/json-depth.js';
export type { Command, Verb } from './wire/socket-protocol.js';

// Errors (one class per failure, each with a stable `code`) and logging.

export {
  BackendUnavailable,
  BridgeRefused,
  ClientClosed,
  ConnectionLost,
  EricBusError,
  Forbidden,
  formatException,
  InvalidChannelException,
  InvalidListenerException,
  InvalidMessageFormat,
  LimitExceeded,
  NoMessagesException,
  parseException,
  StoreUnavailable,
  TooManyStreams,
  VerbNotAllowed,
  WorkerCrashedError,
} from './errors.js';
export type { Logger } from './log.js';
export { setLogger, silentLogger } from './log.js';
