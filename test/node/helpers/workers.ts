// Shared by the worker_threads tests: a channel on the fixture worker, whose threads are tracked.
import type { Worker } from 'node:worker_threads';
import {
  DataProcessingChannel,
  type DataProcessingChannelOptions,
  MESSAGE_TYPE_INTERNAL_ERROR,
  Message,
} from 'eric-bus';
import { nodeWorker } from 'eric-bus/node';

export const ECHO_WORKER = new URL('../fixtures/echo-worker.mjs', import.meta.url);

/** A channel on `maxWorkers` threads of the echo fixture, and every thread it ever started. */
export function trackedChannel(maxWorkers: number, options: Partial<DataProcessingChannelOptions> = {}) {
  const threads: Worker[] = [];
  const exited = new Set<Worker>();
  const start = nodeWorker(ECHO_WORKER);
  const channel = new DataProcessingChannel({
    maxWorkers,
    ...options,
    worker: () => {
      const handle = start();
      threads.push(handle.thread);
      handle.thread.once('exit', () => exited.add(handle.thread));
      return handle;
    },
  });
  const listener = channel.addListener();
  /** Threads started but not exited. */
  const alive = () => threads.filter((t) => !exited.has(t));
  return { channel, listener, threads, alive };
}

export type Event = { event: string; data: unknown };

/** Drains one processQueue run. */
export async function drain(channel: DataProcessingChannel, listener: { id: string }): Promise<Event[]> {
  const events: Event[] = [];
  for await (const event of channel.processQueue(channel.getListener(listener.id))) events.push(event);
  return events;
}

export function dispatchAll(channel: DataProcessingChannel, listenerId: string, messages: [string, unknown][]): void {
  for (const [type, payload] of messages) channel.dispatch(listenerId, new Message(type, payload));
}

export function isError(
  event: Event,
): event is { event: typeof MESSAGE_TYPE_INTERNAL_ERROR; data: { type: string; message: string } } {
  return event.event === MESSAGE_TYPE_INTERNAL_ERROR;
}

/** Resolves once the channel's progress satisfies `holds` (at once if it already does). */
export function progressReaches(
  channel: DataProcessingChannel,
  holds: (progress: DataProcessingChannel['progress']) => boolean,
): Promise<void> {
  return new Promise((resolve) => {
    if (holds(channel.progress)) return resolve();
    const off = channel.onProgress((p) => {
      if (holds(p)) {
        off();
        resolve();
      }
    });
  });
}

/** Resolves once nothing is in flight any more. */
export function settled(channel: DataProcessingChannel): Promise<void> {
  return progressReaches(channel, (p) => p.inFlight === 0);
}
