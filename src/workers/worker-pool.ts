// A fixed number of worker slots, each a comlink-wrapped worker; a slot whose worker dies gets a new one.
import { type Endpoint, type Remote, transfer, wrap } from 'comlink';
import { WorkerCrashedError } from '../errors.js';
import {
  type BatchMeta,
  type BatchResult,
  CLOSING_NOTICE,
  errorText,
  type WorkerApi,
  withTransfers,
} from './protocol.js';

/** A worker as the pool drives it: how to talk to it, end it, and hear that it died. */
export interface WorkerHandle {
  /** Where comlink posts calls and hears replies. */
  readonly endpoint: Endpoint;
  /** Ends the worker; a returned promise settles once it is gone. */
  terminate(): unknown;
  /** Calls `report` when the worker dies on its own (crash, exit, self-close), with the reason. */
  onDeath(report: (reason: string) => void): void;
  /** Told whether the worker has work in flight, so an idle one need not keep a process alive. */
  keepAlive?(busy: boolean): void;
}

/**
 * Where workers come from: a module URL (in the browser started as `new Worker(url, { type: 'module' })`,
 * in Node as a worker thread), or a factory returning a `Worker` (Vite's
 * `new Worker(new URL('../x.ts', import.meta.url), …)` pattern) or a {@link WorkerHandle} (in Node,
 * `nodeWorker(url, options)` from `eric-bus/node`, for worker_threads options).
 */
export type WorkerSource = string | URL | (() => Worker | WorkerHandle);

/**
 * Starts a worker from a module URL where the platform has its own kind of worker. `src/` cannot
 * import Node, so Node's entry point of the package (its `node` export condition) sets this to
 * start worker threads; in a browser it stays unset and URLs become Web Workers.
 */
let moduleWorkers: ((url: string | URL) => WorkerHandle) | undefined;

/** Sets how module URLs become workers on this platform (see {@link moduleWorkers}). */
export function setModuleWorkers(start: (url: string | URL) => WorkerHandle): void {
  moduleWorkers = start;
}

interface InFlight {
  settle(result: BatchResult | Error): void;
}

interface Slot {
  readonly index: number;
  readonly handle: WorkerHandle;
  readonly remote: Remote<WorkerApi>;
  readonly batches: Set<InFlight>;
  /** Answered a first empty call: the module loaded and its handler is exposed. */
  ready: boolean;
  dead: boolean;
}

/** Workers that die this many times per slot in a row before ever answering mean a module that cannot load. */
const LOAD_FAILURES_PER_SLOT_BEFORE_GIVING_UP = 3;

/** A pool of worker slots taking batches of messages; each slot has up to `depth` batches in flight. */
export class WorkerPool {
  /** Batches each worker holds at once: one running, one queued behind it so it never waits for the main thread. */
  readonly depth = 2;
  readonly size: number;
  readonly #spawn: () => WorkerHandle;
  readonly #transfer: boolean;
  readonly #slots: Slot[] = [];
  readonly #onRoom = new Set<() => void>();
  /** Terminations of dead workers still under way, awaited by {@link close}. */
  readonly #ending = new Set<Promise<unknown>>();
  #loadFailuresInARow = 0;
  #broken: WorkerCrashedError | undefined;
  #closed = false;

  /** Starts `size` workers from `source`; `transfer` moves the buffers found in payloads instead of copying them. */
  constructor(source: WorkerSource, size: number, { transfer = true }: { transfer?: boolean } = {}) {
    this.size = size;
    this.#spawn = handleFactory(source);
    this.#transfer = transfer;
    try {
      for (let i = 0; i < size; i++) this.#slots.push(this.#start(i));
    } catch (error) {
      void this.close();
      throw error;
    }
  }

  /** How many more batches the live workers can take now. */
  get room(): number {
    let room = 0;
    for (const slot of this.#slots) if (slot.ready && !slot.dead) room += this.depth - slot.batches.size;
    return room;
  }

  /** Set once workers keep dying before they answer (e.g. a module that fails to load). */
  get broken(): Error | undefined {
    return this.#broken;
  }

  /** Resolves once every worker has started and answered; rejects if they keep dying as they load. */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.#broken) reject(this.#broken);
        else if (this.#closed || this.#slots.every((slot) => slot.ready && !slot.dead)) resolve();
        else return;
        off();
      };
      const off = this.onRoom(check);
      check();
    });
  }

  /** Calls `callback` whenever room frees up or the pool's state changes; returns an unsubscriber. */
  onRoom(callback: () => void): () => void {
    this.#onRoom.add(callback);
    return () => this.#onRoom.delete(callback);
  }

  /**
   * Sends a batch (its messages' types and payloads, and from a work queue their ids and delivery
   * counts) to the least-loaded live worker; call only
   * while {@link room} > 0. The promise resolves with the batch's result, or rejects with
   * {@link WorkerCrashedError} if the worker dies first.
   */
  submit(types: string[], payloads: unknown[], meta?: BatchMeta): { slot: number; result: Promise<BatchResult> } {
    const slot = this.#leastLoaded();
    if (!slot) throw new WorkerCrashedError(this.#broken?.message ?? 'no worker has room for a batch');
    const result = new Promise<BatchResult>((resolve, reject) => {
      const entry: InFlight = {
        settle: (outcome) => {
          if (!slot.batches.delete(entry)) return;
          if (slot.batches.size === 0) slot.handle.keepAlive?.(false);
          if (outcome instanceof Error) reject(outcome);
          else resolve(outcome);
          this.#notify();
        },
      };
      if (slot.batches.size === 0) slot.handle.keepAlive?.(true);
      slot.batches.add(entry);
      this.#call(slot, types, payloads, meta).then(
        (done) => entry.settle(done),
        (error: unknown) => entry.settle(error instanceof Error ? error : new Error(String(error))),
      );
    });
    return { slot: slot.index, result };
  }

  /** Terminates every worker; batches still in flight reject. Resolves once all are gone. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new WorkerCrashedError('the worker pool was closed');
    await Promise.all([
      ...this.#slots.map((slot) => {
        slot.dead = true;
        for (const entry of [...slot.batches]) entry.settle(closed);
        return slot.handle.terminate();
      }),
      ...this.#ending,
    ]);
    this.#notify();
    this.#onRoom.clear();
  }

  async #call(slot: Slot, types: string[], payloads: unknown[], meta?: BatchMeta): Promise<BatchResult> {
    try {
      return await slot.remote.run(
        sameType(types) ?? types,
        this.#transfer ? withTransfers(payloads, payloads, transfer) : payloads,
        meta,
      );
    } catch (error) {
      // A payload that cannot be cloned fails the whole postMessage before anything is sent or
      // moved: resend one by one so only that message fails.
      if (types.length === 1 || (error as { name?: unknown } | null)?.name !== 'DataCloneError' || slot.dead)
        throw error;
      const merged: BatchResult = { data: new Array(types.length), errors: [] };
      await Promise.all(
        types.map((type, i) =>
          this.#call(
            slot,
            [type],
            [payloads[i]],
            meta && { ids: [meta.ids[i]!], deliveries: [meta.deliveries[i]!] },
          ).then(
            (one) => {
              merged.data[i] = one.data[0];
              if (one.errors.length > 0) merged.errors.push([i, one.errors[0]![1]]);
            },
            (e: unknown) => void merged.errors.push([i, errorText(e)]),
          ),
        ),
      );
      return merged;
    }
  }

  #start(index: number): Slot {
    const handle = this.#spawn();
    const slot: Slot = {
      index,
      handle,
      remote: wrap<WorkerApi>(handle.endpoint),
      batches: new Set(),
      ready: false,
      dead: false,
    };
    handle.onDeath((reason) => this.#died(slot, reason));
    // No message goes to a worker before it answers an empty batch, so a module that fails to
    // load costs no messages, and the pool can tell a load failure from a crash mid-work.
    slot.remote.run([], []).then(
      () => {
        if (slot.dead) return;
        slot.ready = true;
        this.#loadFailuresInARow = 0;
        handle.keepAlive?.(false);
        this.#notify();
      },
      () => {},
    );
    return slot;
  }

  #died(slot: Slot, reason: string): void {
    if (slot.dead || this.#closed) return;
    slot.dead = true;
    const ending = Promise.resolve(slot.handle.terminate()).catch(() => {});
    this.#ending.add(ending);
    void ending.then(() => this.#ending.delete(ending));
    const crashed = new WorkerCrashedError(`worker ${slot.index + 1} died: ${reason}`);
    for (const entry of [...slot.batches]) entry.settle(crashed);
    if (!slot.ready && ++this.#loadFailuresInARow >= this.size * LOAD_FAILURES_PER_SLOT_BEFORE_GIVING_UP) {
      this.#broken = new WorkerCrashedError(
        `workers keep dying before they start (last: ${reason}); gave up after ${this.#loadFailuresInARow} in a row`,
      );
    } else {
      try {
        this.#slots[slot.index] = this.#start(slot.index);
      } catch (error) {
        this.#broken = new WorkerCrashedError(`could not replace worker ${slot.index + 1}: ${errorText(error)}`);
      }
    }
    this.#notify();
  }

  #leastLoaded(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      if (!slot.ready || slot.dead || slot.batches.size >= this.depth) continue;
      if (!best || slot.batches.size < best.batches.size) best = slot;
    }
    return best;
  }

  #notify(): void {
    for (const callback of [...this.#onRoom]) callback();
  }
}

/** The one type every message of the batch has, if so: sent once instead of per message. */
function sameType(types: string[]): string | undefined {
  const first = types[0];
  for (let i = 1; i < types.length; i++) if (types[i] !== first) return undefined;
  return first;
}

function handleFactory(source: WorkerSource): () => WorkerHandle {
  if (typeof source === 'function') {
    return () => {
      const made = source();
      return isHandle(made) ? made : webWorkerHandle(made);
    };
  }
  return () => {
    if (moduleWorkers) return moduleWorkers(source);
    if (typeof Worker === 'undefined') {
      throw new TypeError(
        'Web Workers are not available here; in Node, the package loaded by its name (eric-bus) starts worker ' +
          'threads for a module URL, or pass nodeWorker(url) from eric-bus/node as `worker`',
      );
    }
    return webWorkerHandle(new Worker(source, { type: 'module' }));
  };
}

function isHandle(made: Worker | WorkerHandle): made is WorkerHandle {
  return 'endpoint' in made && 'onDeath' in made;
}

/** A Web Worker as a {@link WorkerHandle}: an uncaught error, an unreadable reply or a self-close counts as death. */
function webWorkerHandle(worker: Worker): WorkerHandle {
  return {
    endpoint: worker,
    terminate: () => worker.terminate(),
    onDeath(report) {
      worker.addEventListener('error', (event) => {
        event.preventDefault();
        report(event.message ? `uncaught ${event.message}` : 'failed to load or crashed');
      });
      worker.addEventListener('messageerror', () => report('sent a message that could not be read'));
      worker.addEventListener('message', (event: MessageEvent) => {
        if (event.data === CLOSING_NOTICE) report('closed itself');
      });
    },
  };
}
