import { nextId } from './ids.js';
import type { Message } from './message.js';

/** A consumer of one queue on a channel. A new listener is not running. */
export class MessageQueueListener {
  readonly id: string;
  #running = false;
  #onStop = new Set<() => void>();

  constructor(id: string = nextId('listener')) {
    this.id = id;
  }

  async start(): Promise<void> {
    this.startSync();
  }

  startSync(): void {
    this.#running = true;
  }

  async stop(): Promise<void> {
    this.stopSync();
  }

  stopSync(): void {
    this.#running = false;
    if (this.#onStop.size === 0) return;
    const callbacks = [...this.#onStop];
    this.#onStop.clear();
    for (const callback of callbacks) callback();
  }

  async isRunning(): Promise<boolean> {
    return this.#running;
  }

  isRunningSync(): boolean {
    return this.#running;
  }

  /** Hook called once for each message delivered to this listener; a returned promise is awaited by streams. */
  onMessage(_msg: Message): void | Promise<void> {}

  /** Calls `callback` once, the next time this listener stops; returns a canceller. */
  onceStopped(callback: () => void): () => void {
    this.#onStop.add(callback);
    return () => this.#onStop.delete(callback);
  }
}
