import { AbstractChannel, type ChannelOptions } from '../bus/channel.js';
import type { MessageQueueListener } from '../bus/listener.js';
import { Message } from '../bus/message.js';
import { ChunkedQueue } from '../bus/queue.js';
import { BatchSizer } from './batch-sizer.js';
import { type BatchMeta, type BatchResult, errorText } from './protocol.js';
import { errorMessage, QueueOutcomes, serveQueue, submitSettled } from './queued-processing.js';
import type { WorkQueue } from './work-queue.js';
import { WorkerPool, type WorkerSource } from './worker-pool.js';

/** Options of a {@link DataProcessingChannel}. */
export interface DataProcessingChannelOptions extends ChannelOptions {
  /** How many messages (in-thread) or workers (with `worker`) run at once. */
  maxWorkers: number;
  /** Runs processing on a pool of `maxWorkers` workers from this module instead of the listener's `onMessage`. */
  worker?: WorkerSource;
  /** Most messages sent to a worker in one batch (default 1024). */
  maxBatch?: number;
  /** Move the ArrayBuffers found in payloads to the worker instead of copying them (default true). */
  transfer?: boolean;
  /**
   * A queue shared by several processes (`redisWorkQueue` from `eric-bus/node`): `dispatch` stores
   * there, and with `worker` this process also takes its share (docs/workers.md, "Work across processes").
   */
  queue?: WorkQueue;
}

/** Where a channel's processing stands, for a progress bar. */
export interface ProcessingProgress {
  /** Messages processed successfully. */
  done: number;
  /** Messages that ended in an error event (handler threw, worker died). */
  failed: number;
  /** Messages waiting in the channel's queues. */
  pending: number;
  /** Messages handed to a handler or worker and not finished yet. */
  inFlight: number;
  /** Messages finished by each worker slot (or in-thread slot), index = slot. */
  perWorker: number[];
  /**
   * With a `queue`: outcomes dropped because their message had been answered already (it ran twice,
   * in two processes) or was not waited for (its dispatch was refused). 0 without one.
   */
  duplicates: number;
}

/** The payload of an error event: the message's type and what went wrong. */
export interface ProcessingError {
  type: string;
  message: string;
}

/** Runs batches of messages, in the calling thread or on workers. */
interface Executor {
  /** Slots working at once, and batches each may hold: used to size batches. */
  readonly slots: number;
  readonly depth: number;
  readonly maxBatch: number;
  /** The size the next batch may have at most, as learnt from the batches before. */
  readonly batchSize: number;
  /** How many more batches can start now. */
  readonly room: number;
  readonly broken: Error | undefined;
  submit(
    batch: Message[],
    listener: MessageQueueListener | undefined,
    meta?: BatchMeta,
  ): { slot: number; result: Promise<BatchResult> };
  onRoom(callback: () => void): () => void;
  ready(): Promise<void>;
  close(): Promise<void>;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * Processes a listener's queue concurrently, at most `maxWorkers` at a time, yielding
 * `adapt(result)` as each message completes: in the calling thread through the listener's
 * `onMessage`, or on a pool of Web Workers / worker threads when `worker` is given.
 */
export class DataProcessingChannel<Out = { event: string; data: unknown }> extends AbstractChannel<Out> {
  readonly maxWorkers: number;
  readonly #worker: WorkerSource | undefined;
  readonly #maxBatch: number;
  readonly #transfer: boolean;
  #executor: Executor | undefined;
  /** Finishers of the open processQueue streams, called by close(). */
  readonly #runs = new Set<() => void>();
  readonly #progressListeners = new Set<(progress: ProcessingProgress) => void>();
  #done = 0;
  #failed = 0;
  #inFlight = 0;
  readonly #perWorker: number[];
  /** With a queue: what this process dispatched, and the outcomes coming back. */
  readonly #outcomes: QueueOutcomes | undefined;
  readonly #queue: WorkQueue | undefined;
  #leaveQueue: (() => void) | undefined;

  constructor({
    maxWorkers,
    worker,
    maxBatch = 1024,
    transfer = true,
    queue,
    ...options
  }: DataProcessingChannelOptions) {
    super(options);
    if (!Number.isInteger(maxWorkers) || maxWorkers < 1)
      throw new RangeError(`maxWorkers must be a positive integer, got ${maxWorkers}`);
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    this.maxWorkers = maxWorkers;
    this.#worker = worker;
    this.#maxBatch = maxBatch;
    this.#transfer = transfer;
    this.#perWorker = new Array<number>(maxWorkers).fill(0);
    this.#queue = queue;
    if (queue) {
      this.#outcomes = new QueueOutcomes(queue, () => this.#reportProgress());
      if (worker !== undefined) this.#joinQueue(queue);
    }
  }

  /**
   * Appends a message to one listener's queue; with a `queue`, stores it there instead and
   * resolves once it is stored (rejecting, e.g. with `StoreUnavailable`, when it could not be).
   */
  override dispatch(listenerId: string, msg: Message): Promise<void> | undefined {
    if (!this.#outcomes) {
      super.dispatch(listenerId, msg);
      return undefined;
    }
    this.getListener(listenerId);
    return this.#outcomes.dispatch(listenerId, msg);
  }

  /** Appends the message to every listener's queue; with a `queue`, dispatches it to each and resolves once stored. */
  override broadcast(msg: Message): Promise<void> | undefined {
    if (!this.#outcomes) {
      super.broadcast(msg);
      return undefined;
    }
    const outcomes = this.#outcomes;
    return Promise.all([...this.listeners()].map((listener) => outcomes.dispatch(listener.id, msg))).then(() => {});
  }

  /** `{ event: msg.type, data: msg.payload }`; override to shape the output. */
  adapt(msg: Message): Out {
    return { event: msg.type, data: msg.payload } as Out;
  }

  /** Counts so far, for a progress bar. */
  get progress(): ProcessingProgress {
    let pending = this.#outcomes?.pending ?? 0;
    for (const listener of this.listeners()) pending += this.queueLength(listener.id);
    return {
      done: this.#done + (this.#outcomes?.done ?? 0),
      failed: this.#failed + (this.#outcomes?.failed ?? 0),
      pending,
      inFlight: this.#inFlight,
      perWorker: [...this.#perWorker],
      duplicates: this.#outcomes?.duplicates ?? 0,
    };
  }

  /** Calls `callback` with the {@link progress} whenever work is sent or finishes; returns an unsubscriber. */
  onProgress(callback: (progress: ProcessingProgress) => void): () => void {
    this.#progressListeners.add(callback);
    return () => this.#progressListeners.delete(callback);
  }

  /**
   * Takes the messages waiting for `listener` (and those that arrive meanwhile) and processes
   * them, yielding one event per message in completion order; ends when the queue is empty and
   * nothing is in flight. Breaking out stops sending work: messages not yet sent stay queued.
   * With a `queue`: one event per message this process dispatched to `listener`, whichever
   * process ran it (its result, or one error event once it is dead-lettered); ends when none is
   * outstanding.
   */
  processQueue(listener: MessageQueueListener): AsyncIterableIterator<Out> {
    this.getListener(listener.id);
    if (this.#outcomes) return this.#outcomes.stream(listener.id, (msg) => this.adapt(msg));
    const out = new ChunkedQueue<Out>();
    let executor: Executor | undefined;
    let offRoom: (() => void) | undefined;
    let wake: (() => void) | undefined;
    let failure: { error: unknown } | undefined;
    let finished = false;
    let inFlight = 0;

    const finish = (): IteratorReturnResult<undefined> => {
      if (!finished) {
        finished = true;
        offRoom?.();
        this.#runs.delete(finish);
        wake?.();
      }
      return DONE;
    };
    this.#runs.add(finish);

    const queued = (): number => {
      try {
        return this.queueLength(listener.id);
      } catch {
        return 0; // removed meanwhile: nothing more to take
      }
    };

    const settle = (batch: Message[], slot: number, result: BatchResult | Error): void => {
      inFlight -= batch.length;
      this.#inFlight -= batch.length;
      const crashed = result instanceof Error ? errorText(result) : undefined;
      const errors = result instanceof Error || result.errors.length === 0 ? undefined : new Map(result.errors);
      const failures = crashed !== undefined ? batch.length : (errors?.size ?? 0);
      this.#done += batch.length - failures;
      this.#failed += failures;
      if (crashed === undefined) this.#perWorker[slot]! += batch.length;
      for (let i = 0; i < batch.length && !finished && !failure; i++) {
        const type = batch[i]!.type;
        const error = crashed ?? errors?.get(i);
        try {
          out.push(
            this.adapt(
              error === undefined ? new Message(type, (result as BatchResult).data[i]) : errorMessage(type, error),
            ),
          );
        } catch (thrown) {
          failure = { error: thrown };
        }
      }
      fill();
      wake?.();
      this.#reportProgress();
    };

    const fill = (): void => {
      if (finished || failure || !executor) return;
      const running = executor;
      const perRound = executor.slots * executor.depth;
      const highWater = perRound * executor.maxBatch;
      let sent = false;
      while (executor.room > 0 && out.length < highWater) {
        const waiting = queued();
        if (waiting === 0) break;
        // Guided sizing: a share of what waits per batch, so work spreads over every worker and
        // the last batches are small enough to finish together; and no more than the workers
        // have shown they get through in a couple of ms, so the first batches are small.
        const size = Math.min(executor.batchSize, Math.ceil(waiting / perRound));
        const batch: Message[] = new Array(size);
        for (let i = 0; i < size; i++) batch[i] = this.takeNext(listener.id)!;
        inFlight += size;
        this.#inFlight += size;
        sent = true;
        // A submit that throws still settles: taken from the queue, its messages come out as error events.
        submitSettled(
          () => running.submit(batch, listener),
          (slot, result) => settle(batch, slot, result),
        );
      }
      if (sent) this.#reportProgress();
    };

    const iterator: AsyncIterableIterator<Out> = {
      next: async (): Promise<IteratorResult<Out>> => {
        try {
          if (!executor && !finished) {
            executor = this.#executorNow();
            offRoom = executor.onRoom(() => {
              fill();
              wake?.();
            });
          }
          while (!finished) {
            if (out.length > 0) {
              const value = out.take()!;
              fill();
              return { value, done: false };
            }
            if (failure) throw failure.error;
            fill();
            if (out.length > 0) continue;
            if (inFlight === 0) {
              if (queued() === 0) return finish();
              if (executor!.broken) throw executor!.broken;
            }
            // Nothing to yield yet: wait for a batch to finish or a worker to free up.
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
          }
          return DONE;
        } catch (error) {
          finish();
          throw error;
        }
      },
      return: async (): Promise<IteratorResult<Out>> => finish(),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return iterator;
  }

  /**
   * Starts the workers now rather than at the first processQueue, and resolves once every one
   * is up (so the first batches spread over all of them); rejects if the worker module cannot load.
   */
  async warmUp(): Promise<void> {
    await this.#executorNow().ready();
  }

  /** Ends every processQueue stream, removes the listeners and terminates the worker pool. */
  override async close(): Promise<void> {
    super.close();
    for (const finish of [...this.#runs]) finish();
    this.#outcomes?.close();
    this.#leaveQueue?.();
    // Before the pool: what this process holds goes back to the queue, not out as failures.
    await this.#queue?.close();
    const executor = this.#executor;
    this.#executor = undefined;
    await executor?.close();
  }

  #executorNow(): Executor {
    this.#executor ??=
      this.#worker === undefined
        ? new InThreadExecutor(this.maxWorkers)
        : new PoolExecutor(this.#worker, this.maxWorkers, this.#maxBatch, this.#transfer);
    return this.#executor;
  }

  /** Takes this process's share of the queue's messages, on the worker pool. */
  #joinQueue(queue: WorkQueue): void {
    const executor = this.#executorNow();
    this.#leaveQueue = serveQueue(queue, executor, {
      sent: (count) => {
        this.#inFlight += count;
        this.#reportProgress();
      },
      finished: (slot, count, failures) => {
        this.#inFlight -= count;
        if (failures === 0 && slot >= 0) this.#perWorker[slot]! += count;
        this.#reportProgress();
      },
    });
  }

  #reportProgress(): void {
    if (this.#progressListeners.size === 0) return;
    const progress = this.progress;
    for (const callback of [...this.#progressListeners]) callback(progress);
  }
}

/** The worker pool, fed plain `{ type, payload }` copies of the messages. */
class PoolExecutor implements Executor {
  readonly #pool: WorkerPool;
  readonly #sizer: BatchSizer;

  constructor(source: WorkerSource, size: number, maxBatch: number, transfer: boolean) {
    this.#pool = new WorkerPool(source, size, { transfer });
    this.#sizer = new BatchSizer(maxBatch);
  }

  get maxBatch(): number {
    return this.#sizer.maxBatch;
  }

  get batchSize(): number {
    return this.#sizer.size;
  }

  get slots(): number {
    return this.#pool.size;
  }

  get depth(): number {
    return this.#pool.depth;
  }

  get room(): number {
    return this.#pool.room;
  }

  get broken(): Error | undefined {
    return this.#pool.broken;
  }

  submit(
    batch: Message[],
    _listener?: MessageQueueListener,
    meta?: BatchMeta,
  ): { slot: number; result: Promise<BatchResult> } {
    const types: string[] = new Array(batch.length);
    const payloads: unknown[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      types[i] = batch[i]!.type;
      payloads[i] = batch[i]!.payload;
    }
    const submitted = this.#pool.submit(types, payloads, meta);
    submitted.result.then(
      (done) => this.#sizer.observe(batch.length, done.ms),
      () => {},
    );
    return submitted;
  }

  onRoom(callback: () => void): () => void {
    return this.#pool.onRoom(callback);
  }

  ready(): Promise<void> {
    return this.#pool.ready();
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** Runs the listener's own `onMessage` in the calling thread, one message per slot. */
class InThreadExecutor implements Executor {
  readonly depth = 1;
  readonly maxBatch = 1;
  readonly batchSize = 1;
  readonly broken = undefined;
  readonly slots: number;
  readonly #free: number[];
  readonly #onRoom = new Set<() => void>();

  constructor(slots: number) {
    this.slots = slots;
    this.#free = Array.from({ length: slots }, (_, i) => slots - 1 - i);
  }

  get room(): number {
    return this.#free.length;
  }

  submit([msg]: Message[], listener: MessageQueueListener | undefined): { slot: number; result: Promise<BatchResult> } {
    const slot = this.#free.pop()!;
    const result = runHere(listener!, msg!);
    void result.then(() => {
      this.#free.push(slot);
      for (const callback of [...this.#onRoom]) callback();
    });
    return { slot, result };
  }

  onRoom(callback: () => void): () => void {
    this.#onRoom.add(callback);
    return () => this.#onRoom.delete(callback);
  }

  async ready(): Promise<void> {}

  async close(): Promise<void> {
    this.#onRoom.clear();
  }
}

/** Runs `onMessage` once; never rejects, a throw becomes the message's error outcome. */
function runHere(listener: MessageQueueListener, msg: Message): Promise<BatchResult> {
  const ok: BatchResult = { data: [msg.payload], errors: [] };
  const failed = (error: unknown): BatchResult => ({ data: [], errors: [[0, errorText(error)]] });
  try {
    const pending = listener.onMessage(msg);
    return pending ? pending.then(() => ok, failed) : Promise.resolve(ok);
  } catch (error) {
    return Promise.resolve(failed(error));
  }
}
