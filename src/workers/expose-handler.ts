/**
 * `eric-bus/worker` in the browser: what a Web Worker module calls to serve a DataProcessingChannel.
 * @module eric-bus/worker
 */
import { type Endpoint, expose, transfer } from 'comlink';
import { batchRunner, CLOSING_NOTICE, type MessageHandler } from './protocol.js';

export type { MessageHandler, WorkerMessage } from './protocol.js';

/** The parts of a dedicated worker's global scope used here. */
interface WorkerScope extends Endpoint {
  close(): void;
}

/**
 * Registers `handler` as this worker's processing function: it receives each message
 * (`{ type, payload }`) and returns or resolves the processed payload.
 */
export function exposeHandler<P = unknown, R = unknown>(handler: MessageHandler<P, R>): void {
  const scope = globalThis as unknown as WorkerScope;
  const close = scope.close.bind(scope);
  // `self.close()` ends a worker without any event; say so first, so the pool reports and replaces it.
  scope.close = () => {
    scope.postMessage(CLOSING_NOTICE);
    close();
  };
  expose(batchRunner(handler as MessageHandler, transfer), scope);
}
