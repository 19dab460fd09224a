// A DataProcessingChannel on a WorkQueue (docs/workers.md, "Work across processes"): the dispatching
// side (what it dispatched, and each outcome once) and the working side (what the queue hands this
// process, run on its workers).
import { MESSAGE_TYPE_INTERNAL_ERROR, Message } from '../bus/message.js';
import { ChunkedQueue } from '../bus/queue.js';
import { type BatchMeta, type BatchResult, errorText } from './protocol.js';
import type { QueuedMessage, QueuedResult, QueueOutcome, WorkQueue } from './work-queue.js';

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/** The error event for a message whose processing failed. */
export function errorMessage(type: string, message: string): Message<{ type: string; message: string }> {
  return new Message(MESSAGE_TYPE_INTERNAL_ERROR, { type, message });
}

/** What the dispatching process keeps per listener: what it waits for, and outcomes not yet yielded. */
interface Route {
  /** Ids dispatched and not yet come back, with their message types. */
  readonly waiting: Map<string, string>;
  readonly ready: ChunkedQueue<Message>;
  /** Wakes the processQueue stream waiting on this listener. */
  wake: (() => void) | undefined;
}

/**
 * The dispatching side: dispatches into the queue and turns each outcome into one event for the
 * listener it was dispatched to. An outcome for an id not waited for (a message that ran twice,
 * or one whose dispatch was refused) is counted in {@link duplicates} and dropped.
 */
export class QueueOutcomes {
  done = 0;
  failed = 0;
  /** Outcomes dropped because their message had already come back (or was never waited for). */
  duplicates = 0;
  readonly #queue: WorkQueue;
  readonly #routes = new Map<string, Route>();
  readonly #changed: () => void;
  readonly #off: () => void;
  readonly #finishers = new Set<() => void>();

  constructor(queue: WorkQueue, changed: () => void) {
    this.#queue = queue;
    this.#changed = changed;
    this.#off = queue.onOutcome((outcome) => this.#arrived(outcome));
  }

  /** Messages dispatched from here whose outcome has not come back. */
  get pending(): number {
    let pending = 0;
    for (const route of this.#routes.values()) pending += route.waiting.size;
    return pending;
  }

  /** Stores `msg` in the queue for `listenerId`; resolves once stored, rejects (and waits no more) if not. */
  dispatch(listenerId: string, msg: Message): Promise<void> {
    const route = this.#route(listenerId);
    const id = this.#queue.nextId();
    // Waited for before it is stored: a quick worker's result may come back before the reply.
    route.waiting.set(id, msg.type);
    this.#changed();
    return this.#queue.add({ id, type: msg.type, payload: msg.payload, route: listenerId }).catch((error: unknown) => {
      route.waiting.delete(id);
      route.wake?.();
      this.#changed();
      throw error;
    });
  }

  /** One event per message dispatched to `listenerId`, as its outcome comes back; ends when none is outstanding. */
  stream<Out>(listenerId: string, adapt: (msg: Message) => Out): AsyncIterableIterator<Out> {
    const route = this.#route(listenerId);
    let finished = false;
    const finish = (): IteratorReturnResult<undefined> => {
      finished = true;
      this.#finishers.delete(finish);
      route.wake?.();
      return DONE;
    };
    this.#finishers.add(finish);
    return {
      next: async (): Promise<IteratorResult<Out>> => {
        while (!finished) {
          const msg = route.ready.take();
          if (msg) return { value: adapt(msg), done: false };
          if (route.waiting.size === 0) return finish();
          await new Promise<void>((resolve) => (route.wake = resolve));
          route.wake = undefined;
        }
        return DONE;
      },
      return: async (): Promise<IteratorResult<Out>> => finish(),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Ends every stream and stops hearing outcomes. */
  close(): void {
    this.#off();
    for (const finish of [...this.#finishers]) finish();
  }

  #route(listenerId: string): Route {
    let route = this.#routes.get(listenerId);
    if (!route) {
      route = { waiting: new Map(), ready: new ChunkedQueue(), wake: undefined };
      this.#routes.set(listenerId, route);
    }
    return route;
  }

  #arrived(outcome: QueueOutcome): void {
    const route = this.#routes.get(outcome.route);
    const type = route?.waiting.get(outcome.id);
    if (!route || type === undefined) {
      this.duplicates++;
      return;
    }
    route.waiting.delete(outcome.id);
    if ('error' in outcome) {
      this.failed++;
      route.ready.push(errorMessage(type, outcome.error));
    } else {
      this.done++;
      route.ready.push(new Message(type, outcome.data));
    }
    route.wake?.();
    this.#changed();
  }
}

/**
 * Submits a batch with `submit` and calls `settle` once with its slot and outcome: a submit that
 * throws settles too (slot -1), as a crash would, since its messages were taken and must come out.
 */
export function submitSettled(
  submit: () => { slot: number; result: Promise<BatchResult> },
  settle: (slot: number, result: BatchResult | Error) => void,
): void {
  let submitted: { slot: number; result: Promise<BatchResult> };
  try {
    submitted = submit();
  } catch (error) {
    submitted = { slot: -1, result: Promise.reject(error) };
  }
  const { slot, result } = submitted;
  result.then(
    (done) => settle(slot, done),
    (error: unknown) => settle(slot, error instanceof Error ? error : new Error(String(error))),
  );
}

/** The parts of the channel's executor (its worker pool) that the working side drives. */
export interface QueueExecutor {
  readonly slots: number;
  readonly depth: number;
  readonly batchSize: number;
  readonly room: number;
  submit(batch: Message[], listener: undefined, meta: BatchMeta): { slot: number; result: Promise<BatchResult> };
  onRoom(callback: () => void): () => void;
}

/** How the working side tells the channel's progress what it sends and what finishes. */
export interface QueueWorkProgress {
  sent(count: number): void;
  finished(slot: number, count: number, failures: number): void;
}

/**
 * Joins `queue` as a worker: the messages it hands this process wait here until the executor has
 * room, go out in batches sized as processQueue sizes them, and each batch's outcome is settled
 * with the queue (a result stored and acknowledged, an error for another delivery).
 */
export function serveQueue(queue: WorkQueue, executor: QueueExecutor, progress: QueueWorkProgress): () => void {
  const waiting = new ChunkedQueue<QueuedMessage>();
  const finish = (taken: QueuedMessage[], slot: number, result: BatchResult | Error): void => {
    const crashed = result instanceof Error ? errorText(result) : undefined;
    const errors = result instanceof Error || result.errors.length === 0 ? undefined : new Map(result.errors);
    const results: QueuedResult[] = new Array(taken.length);
    for (let i = 0; i < taken.length; i++) {
      const error = crashed ?? errors?.get(i);
      const message = taken[i]!;
      results[i] = error === undefined ? { message, data: (result as BatchResult).data[i] } : { message, error };
    }
    member.settle(results);
    progress.finished(slot, taken.length, crashed !== undefined ? taken.length : (errors?.size ?? 0));
    fill();
  };
  const fill = (): void => {
    const perRound = executor.slots * executor.depth;
    while (executor.room > 0 && waiting.length > 0) {
      const size = Math.min(executor.batchSize, Math.ceil(waiting.length / perRound));
      const taken: QueuedMessage[] = new Array(size);
      const batch: Message[] = new Array(size);
      const meta: BatchMeta = { ids: new Array(size), deliveries: new Array(size) };
      for (let i = 0; i < size; i++) {
        const message = waiting.take()!;
        taken[i] = message;
        batch[i] = new Message(message.type, message.payload);
        meta.ids[i] = message.id;
        meta.deliveries[i] = message.deliveries;
      }
      progress.sent(size);
      submitSettled(
        () => executor.submit(batch, undefined, meta),
        (slot, result) => finish(taken, slot, result),
      );
    }
  };
  const member = queue.join(executor.slots, (messages) => {
    for (const message of messages) waiting.push(message);
    fill();
  });
  return executor.onRoom(fill);
}
