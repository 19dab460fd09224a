import { InvalidListenerException, NoMessagesException } from '../errors.js';
import { log } from '../log.js';
import { nextId } from './ids.js';
import { MessageQueueListener } from './listener.js';
import { MESSAGE_TYPE_CLOSED, Message } from './message.js';
import { type MessageQueue, memoryQueues, type QueueFactory } from './queue.js';

/** Options every channel takes. */
export interface ChannelOptions {
  /** Pause between two delivered messages of a stream, in seconds (0: none). */
  streamDelaySeconds?: number;
  /** Makes each listener's queue; in-memory ring queues by default. */
  queues?: QueueFactory;
  /** The channel id; the next sequential id by default. */
  id?: string;
  /** Called with +1 when a listener is added and -1 when one is removed (how a container keeps a total). */
  onSizeChange?: (delta: 1 | -1) => void;
}

interface Slot {
  readonly listener: MessageQueueListener;
  readonly queue: MessageQueue<Message>;
  /** Streams waiting on this slot, woken when the listener is removed. */
  readonly onRemove: Set<() => void>;
  /** Set once the listener is removed (its streams then yield one closed event and end). */
  removed: boolean;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/** Base of channels: listeners, their queues, delivery and streaming. */
export abstract class AbstractChannel<Out = unknown> {
  readonly id: string;
  readonly streamDelaySeconds: number;
  readonly #queues: QueueFactory;
  readonly #slots = new Map<string, Slot>();
  readonly #onSizeChange: ((delta: 1 | -1) => void) | undefined;
  #openStreams = 0;
  /** The slot {@link #slot} found last (see there). */
  #lastSlot: Slot | undefined;

  constructor({
    streamDelaySeconds = 0,
    queues = memoryQueues,
    id = nextId('channel'),
    onSizeChange,
  }: ChannelOptions = {}) {
    this.id = id;
    this.streamDelaySeconds = streamDelaySeconds;
    this.#queues = queues;
    this.#onSizeChange = onSizeChange;
  }

  /** Turns a message into what this channel's streams yield. */
  abstract adapt(msg: Message): Out;

  /** Creates, registers and returns a default listener (not yet running). */
  addListener(): MessageQueueListener {
    const listener = new MessageQueueListener();
    this.registerListener(listener);
    return listener;
  }

  /** Adds a listener with an empty queue; a listener id may be registered once. */
  registerListener(listener: MessageQueueListener): void {
    if (this.#slots.has(listener.id)) {
      throw new InvalidListenerException(`Listener ${listener.id} is already registered`);
    }
    this.#slots.set(listener.id, { listener, queue: this.#queues<Message>(), onRemove: new Set(), removed: false });
    this.#onSizeChange?.(1);
  }

  /** Drops a listener and its queue; a stream open on it yields one closed event and ends. */
  removeListener(listenerId: string): void {
    const slot = this.#slot(listenerId);
    this.#slots.delete(listenerId);
    slot.removed = true;
    this.#onSizeChange?.(-1);
    for (const wake of [...slot.onRemove]) wake();
  }

  getListener(listenerId: string): MessageQueueListener {
    return this.#slot(listenerId).listener;
  }

  /** Whether `listener` (this very object) is registered here. */
  hasListener(listener: MessageQueueListener): boolean {
    return this.#slots.get(listener.id)?.listener === listener;
  }

  /**
   * Calls `wake` once, when a message waits for the listener, the listener stops, or it is
   * removed (at once if one of these already holds); returns a canceller. The event-driven
   * seam for consumers that take messages themselves, e.g. only when a socket can take them.
   */
  whenMessageWaits(listenerId: string, wake: () => void): () => void {
    const slot = this.#slot(listenerId);
    if (!slot.listener.isRunningSync() || slot.queue.length > 0) {
      wake();
      return noop;
    }
    return this.#whenChanged(slot, wake);
  }

  /** The registered listeners. */
  listeners(): IterableIterator<MessageQueueListener> {
    return Array.from(this.#slots.values(), (slot) => slot.listener).values();
  }

  /** How many listeners are registered. */
  get size(): number {
    return this.#slots.size;
  }

  /** How many streams are open on this channel (0 once every stream has ended or been released). */
  get openStreams(): number {
    return this.#openStreams;
  }

  /** How many messages wait for the listener. */
  queueLength(listenerId: string): number {
    return this.#slot(listenerId).queue.length;
  }

  /** Appends a message to one listener's queue. */
  dispatch(listenerId: string, msg: Message): void {
    this.#slot(listenerId).queue.push(msg);
  }

  /** Appends the same message object to every listener's queue. */
  broadcast(msg: Message): void {
    for (const slot of this.#slots.values()) slot.queue.push(msg);
  }

  /**
   * Puts messages that were taken (e.g. by {@link deliverNext}) but could not be delivered
   * back at the head of the listener's queue, in their order. Returns false when the queue
   * has no `putBack`.
   */
  requeue(listenerId: string, msgs: readonly Message[]): boolean {
    const queue = this.#slot(listenerId).queue;
    if (!queue.putBack) return false;
    queue.putBack(msgs);
    return true;
  }

  /** Broadcasts a {@link MESSAGE_TYPE_CLOSED} message. */
  notifyEnd(): void {
    this.broadcast(new Message(MESSAGE_TYPE_CLOSED));
  }

  /** Removes every listener: each open stream yields one closed event and ends. */
  close(): void {
    for (const id of [...this.#slots.keys()]) this.removeListener(id);
  }

  /** Pops the listener's oldest message and runs its `onMessage`; throws when there is none or it is not running. */
  deliverNext(listenerId: string): Message {
    const slot = this.#slot(listenerId);
    const msg = this.#take(slot);
    const pending = slot.listener.onMessage(msg);
    if (pending) pending.catch((error: unknown) => log().error(`onMessage of listener ${listenerId} failed:`, error));
    return msg;
  }

  /**
   * Pops the listener's oldest message without running `onMessage`, running or not (as the
   * seed's process_queue pops): for channels that process messages themselves. Undefined when empty.
   */
  protected takeNext(listenerId: string): Message | undefined {
    return this.#slot(listenerId).queue.take();
  }

  /** Streams a listener's messages, adapted, until it stops or is removed. */
  messageStream(listener: MessageQueueListener): AsyncIterableIterator<Out> {
    return this.#stream(
      listener,
      (slot) => this.#adaptNext(slot),
      (closed) => this.adapt(closed),
    );
  }

  /**
   * Like {@link messageStream}, but yields the waiting messages as arrays, each of at most
   * `maxBatch` (default 1024, so a long queue is not adapted all at once): for consumers that
   * can take many at a time.
   */
  messageBatches(listener: MessageQueueListener, maxBatch = 1024): AsyncIterableIterator<Out[]> {
    // Synchronous while every onMessage is; an onMessage that returns a promise is awaited in turn.
    // One loop over the queue, not a take-and-check per message: this is the per-message path of
    // a drain (the stream calls it only while a message waits for the running listener).
    const fill = (slot: Slot, out: Out[], filled: number): Out[] | Promise<Out[]> => {
      const queue = slot.queue;
      while (filled < maxBatch && queue.length > 0 && listener.isRunningSync()) {
        const msg = queue.take()!;
        const pending = listener.onMessage(msg);
        if (pending) {
          return pending.then(() => {
            out[filled] = this.adapt(msg);
            return fill(slot, out, filled + 1);
          });
        }
        out[filled++] = this.adapt(msg);
      }
      out.length = filled;
      return out;
    };
    return this.#stream(
      listener,
      // Sized for what waits: an array grown by push allocates about three times its final size
      // on the way, garbage that costs a drain collections.
      (slot) => fill(slot, new Array<Out>(Math.min(maxBatch, slot.queue.length)), 0),
      (closed) => [this.adapt(closed)],
    );
  }

  /** Adds a started listener and streams it; the listener is removed when the stream ends. */
  watch(): AsyncIterableIterator<Out> {
    const listener = this.addListener();
    listener.startSync();
    return this.#stream(
      listener,
      (slot) => this.#adaptNext(slot),
      (closed) => this.adapt(closed),
      () => {
        const slot = this.#slots.get(listener.id);
        if (slot?.listener !== listener) return;
        this.#slots.delete(listener.id);
        slot.removed = true;
        this.#onSizeChange?.(-1);
      },
    );
  }

  /** Calls `wake` once, at the slot's next push, stop or removal; returns a canceller. */
  #whenChanged(slot: Slot, wake: () => void): () => void {
    let offQueue: (() => void) | undefined;
    let woken = false;
    const cancel = () => {
      offStop();
      slot.onRemove.delete(once);
      offQueue?.();
    };
    const once = () => {
      if (woken) return;
      woken = true;
      cancel();
      wake();
    };
    const offStop = slot.listener.onceStopped(once);
    slot.onRemove.add(once);
    offQueue = slot.queue.waitForMore(once);
    if (woken) offQueue();
    return () => {
      woken = true;
      cancel();
    };
  }

  #slot(listenerId: string): Slot {
    // A run of dispatches mostly goes to one listener: its slot stays at hand until it is removed.
    const last = this.#lastSlot;
    if (last !== undefined && !last.removed && last.listener.id === listenerId) return last;
    const slot = this.#slots.get(listenerId);
    if (!slot) throw new InvalidListenerException(`Invalid listener ${listenerId}`);
    this.#lastSlot = slot;
    return slot;
  }

  #take(slot: Slot): Message {
    if (!slot.listener.isRunningSync()) throw new NoMessagesException(`Listener ${slot.listener.id} is not running`);
    const msg = slot.queue.take();
    if (msg === undefined) throw new NoMessagesException(`No messages for listener ${slot.listener.id}`);
    return msg;
  }

  /**
   * Takes the next message, runs `onMessage` and adapts it: at once, or a promise when `onMessage`
   * returned one. Asks `onMessage`'s result, not the message's class, which one it is: a message of
   * Message's shape made elsewhere (another copy of the library, a plain object) is a message too.
   */
  #adaptNext(slot: Slot): Out | Promise<Out> {
    const msg = this.#take(slot);
    const pending = slot.listener.onMessage(msg);
    return pending ? pending.then(() => this.adapt(msg)) : this.adapt(msg);
  }

  /**
   * The one stream loop behind messageStream and messageBatches. A hand-written iterator
   * rather than an async generator, so `return()` can release a stream blocked in a wait.
   */
  #stream<T>(
    listener: MessageQueueListener,
    step: (slot: Slot) => T | Promise<T>,
    closedValue: (closed: Message) => T,
    onFinish?: () => void,
  ): AsyncIterableIterator<T> {
    const slot = this.#slots.get(listener.id);
    const delayMs = this.streamDelaySeconds * 1000;
    let finished = false;
    let pause = false;
    let wakeNow: (() => void) | null = null;
    this.#openStreams++;

    const finish = (): IteratorReturnResult<undefined> => {
      if (!finished) {
        finished = true;
        this.#openStreams--;
        wakeNow?.();
        onFinish?.();
      }
      return DONE;
    };

    const waitForChange = (live: Slot) =>
      new Promise<void>((resolve) => {
        const cancel = this.#whenChanged(live, () => {
          wakeNow = null;
          resolve();
        });
        wakeNow = () => {
          cancel();
          wakeNow = null;
          resolve();
        };
      });

    /** The general case: waits, paces, closes; one pass of the loop per change. */
    const slowNext = async (): Promise<IteratorResult<T>> => {
      try {
        while (!finished) {
          if (slot === undefined || slot.removed) {
            finish();
            listener.stopSync();
            return { value: closedValue(new Message(MESSAGE_TYPE_CLOSED)), done: false };
          }
          if (!listener.isRunningSync()) return finish();
          if (slot.queue.length === 0) {
            await waitForChange(slot);
          } else if (pause) {
            pause = false;
            await sleep(delayMs);
          } else {
            const value = await step(slot);
            pause = delayMs > 0;
            return { value, done: false };
          }
        }
        return DONE;
      } catch (error) {
        finish();
        throw error;
      }
    };

    const iterator: AsyncIterableIterator<T> = {
      next: (): Promise<IteratorResult<T>> => {
        // A message waits, unpaced, for a live running listener: what slowNext would do, with
        // one promise and no await per message.
        if (!finished && delayMs === 0 && slot !== undefined && !slot.removed && slot.queue.length > 0) {
          if (listener.isRunningSync()) {
            try {
              const value = step(slot);
              if (!(value instanceof Promise)) return Promise.resolve({ value, done: false });
              return value.then(
                (settled) => ({ value: settled, done: false }),
                (error: unknown) => {
                  finish();
                  throw error;
                },
              );
            } catch (error) {
              finish();
              return Promise.reject(error);
            }
          }
        }
        return slowNext();
      },
      return: async (): Promise<IteratorResult<T>> => finish(),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return iterator;
  }
}

function noop(): void {}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
