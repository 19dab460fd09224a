export { Message, SignedMessage, MESSAGE_TYPE_CLOSED, MESSAGE_TYPE_END_OF_STREAM, MESSAGE_TYPE_INTERNAL_ERROR } from './bus/message.js';
export type { JsonValue, SignedPayload } from './bus/message.js';
export {
  EricBusError,
  InvalidChannelException,
  InvalidListenerException,
  InvalidMessageFormat,
  NoMessagesException,
  formatException,
  parseException,
} from './errors.js';
export { MessageQueueListener } from './bus/listener.js';
export { AbstractChannel } from './bus/channel.js';
export type { ChannelOptions } from './bus/channel.js';
export { SSEChannel, toEventStream, parseEventStream } from './bus/sse.js';
export type { SSEEvent, SSEChannelOptions } from './bus/sse.js';
export { SimpleDistributedApplicationListener } from './bus/distributed.js';
export type { Action } from './bus/distributed.js';
export { SSEChannelContainer } from './bus/container.js';
export { RingQueue, memoryQueues } from './bus/queue.js';
export type { MessageQueue, QueueFactory } from './bus/queue.js';
export { nextId, sequentialIds, setIdGenerator, resetIdGenerators } from './bus/ids.js';
export type { IdGenerator, IdKind } from './bus/ids.js';
export { ProtocolClient, VERBS, STREAMING_VERBS, isVerb, isStreamingVerb } from './remote/protocol-client.js';
export type { Command, Verb } from './remote/protocol-client.js';
export { DataProcessingChannel } from './workers/data-processing-channel.js';
export type { DataProcessingChannelOptions, ProcessingProgress, ProcessingError } from './workers/data-processing-channel.js';
export { WorkerPool, WorkerCrashedError } from './workers/worker-pool.js';
export type { WorkerHandle, WorkerSource } from './workers/worker-pool.js';
export type { WorkerMessage, MessageHandler, BatchResult, WorkerApi } from './workers/protocol.js';
export { BridgeClient } from './remote/bridge-client.js';
export type { BridgeClientOptions } from './remote/bridge-client.js';
export type { BridgeState, WebSocketLike, WebSocketConstructor, ProbeFetch } from './remote/connection.js';
export { RemoteChannel } from './remote/remote-channel.js';
export type { RemoteListener } from './remote/remote-channel.js';
export { VerbNotAllowed, TooManyStreams, BackendUnavailable, BridgeRefused, ConnectionLost, ClientClosed, errorFromFrame } from './remote/bridge-errors.js';
export { CANCEL_VERB, parseReplyFrame } from './wire/bridge-frames.js';
export type { FrameId, OkFrame, ErrorFrame, DataFrame, EndFrame, ReplyFrame } from './wire/bridge-frames.js';
export { backoffDelay } from './remote/backoff.js';
export type { BackoffOptions } from './remote/backoff.js';
