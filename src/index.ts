export { Message, SignedMessage, MESSAGE_TYPE_CLOSED, MESSAGE_TYPE_END_OF_STREAM, MESSAGE_TYPE_INTERNAL_ERROR } from './message.js';
export type { JsonValue, SignedPayload } from './message.js';
export {
  EricBusError,
  InvalidChannelException,
  InvalidListenerException,
  InvalidMessageFormat,
  NoMessagesException,
  formatException,
  parseException,
} from './errors.js';
export { MessageQueueListener } from './listener.js';
export { AbstractChannel } from './channel.js';
export type { ChannelOptions } from './channel.js';
export { SSEChannel, toEventStream, parseEventStream } from './sse.js';
export type { SSEEvent, SSEChannelOptions } from './sse.js';
export { SimpleDistributedApplicationListener } from './distributed.js';
export type { Action } from './distributed.js';
export { SSEChannelContainer } from './container.js';
export { RingQueue, memoryQueues } from './queue.js';
export type { MessageQueue, QueueFactory } from './queue.js';
export { nextId, sequentialIds, setIdGenerator, resetIdGenerators } from './ids.js';
export type { IdGenerator, IdKind } from './ids.js';
export { ProtocolClient, VERBS, STREAMING_VERBS, isVerb, isStreamingVerb } from './protocol-client.js';
export type { Command, Verb } from './protocol-client.js';
export { DataProcessingChannel } from './data-processing-channel.js';
export type { DataProcessingChannelOptions, ProcessingProgress, ProcessingError } from './data-processing-channel.js';
export { WorkerPool, WorkerCrashedError } from './worker-pool.js';
export type { WorkerHandle, WorkerSource } from './worker-pool.js';
export type { WorkerMessage, MessageHandler, BatchResult, WorkerApi } from './worker-protocol.js';
export { BridgeClient } from './bridge-client.js';
export type { BridgeClientOptions } from './bridge-client.js';
export type { BridgeState, WebSocketLike, WebSocketConstructor, ProbeFetch } from './bridge-connection.js';
export { RemoteChannel } from './remote-channel.js';
export type { RemoteListener } from './remote-channel.js';
export { VerbNotAllowed, TooManyStreams, BackendUnavailable, BridgeRefused, ConnectionLost, ClientClosed, errorFromFrame } from './bridge-errors.js';
export { CANCEL_VERB, parseReplyFrame } from './bridge-frames.js';
export type { FrameId, OkFrame, ErrorFrame, DataFrame, EndFrame, ReplyFrame } from './bridge-frames.js';
export { backoffDelay } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
