import type { DataProcessingChannel, Message, MessageQueueListener } from '../src/index.js';

/**
 * What both worker benchmarks (Node's and the browser's) time: `count` messages dispatched to the
 * listener, then its queue drained with processQueue; throws when an event is missing.
 */
export async function processAll(
  channel: DataProcessingChannel,
  listener: MessageQueueListener,
  message: (i: number) => Message,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) channel.dispatch(listener.id, message(i));
  let n = 0;
  for await (const _ of channel.processQueue(listener)) n++;
  if (n !== count) throw new Error(`expected ${count} events, got ${n}`);
}
