// What the pool and its workers say to each other over comlink, shared by both sides. No comlink import
// here: each side marks transfers with the comlink it sends through (see MarkTransfers).

/** A message as a worker's handler receives it. */
export interface WorkerMessage<P = unknown> {
  type: string;
  payload: P;
  /** The message's id, when it came from a work queue (the same on every delivery, to make effects idempotent). */
  id?: string;
  /** Which delivery of the message this is, counted from 1, when it came from a work queue. */
  deliveries?: number;
}

/** What a work queue tells a handler about each message of a batch: its id and delivery count. */
export interface BatchMeta {
  ids: string[];
  deliveries: number[];
}

/** A worker module's processing function: returns (or resolves) the processed payload. */
export type MessageHandler<P = unknown, R = unknown> = (msg: WorkerMessage<P>) => R | Promise<R>;

/**
 * What came of a batch, compact so a batch clones as two arrays rather than an object per message:
 * `data[i]` is message i's processed payload, unless `errors` lists i with what its handler threw.
 */
export interface BatchResult {
  data: unknown[];
  errors: [index: number, error: string][];
  /** How long the worker spent on the batch, in ms (what the pool sizes the next batches by). */
  ms?: number;
}

/**
 * What a worker exposes over comlink: one call per batch, the messages' types and payloads side
 * by side (`types` is a single string when every message of the batch has that type).
 */
export interface WorkerApi {
  run(types: string | string[], payloads: unknown[], meta?: BatchMeta): Promise<BatchResult>;
}

/**
 * Posted by a browser worker just before `self.close()`, which fires no event of its own,
 * so the pool can replace the worker and report what it had in flight.
 */
export const CLOSING_NOTICE = '__eric_bus_worker_closing__';

/** The text of a thrown value. */
export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name === 'Error' ? '' : error.name + ': '}${error.message}` : String(error);
}

/**
 * Adds the transferable buffers found in `value` (ArrayBuffers, typed arrays' and DataViews'
 * buffers, inside arrays, plain objects, Maps and Sets) to `out`, so they are moved, not copied.
 * `seen` guards against cycles, which structured cloning allows.
 */
export function collectTransferables(value: unknown, out: Set<Transferable>, seen = new Set<object>()): void {
  if (typeof value !== 'object' || value === null) return;
  if (value instanceof ArrayBuffer) {
    out.add(value);
    return;
  }
  if (ArrayBuffer.isView(value)) {
    // A view over a SharedArrayBuffer is shared, not moved.
    if (value.buffer instanceof ArrayBuffer) out.add(value.buffer);
    return;
  }
  if (seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    for (const item of value) collectTransferables(item, out, seen);
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      collectTransferables(k, out, seen);
      collectTransferables(v, out, seen);
    }
  } else if (value instanceof Set) {
    for (const item of value) collectTransferables(item, out, seen);
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      for (const key in value) collectTransferables((value as Record<string, unknown>)[key], out, seen);
    }
  }
}

/**
 * comlink's `transfer`, from the very comlink module that sends the value: comlink keeps these
 * marks per module instance, and Node's worker side loads comlink's ESM build (its CommonJS main
 * costs each new worker thread about 10 ms to load) while `src/` imports `comlink` by name.
 */
export type MarkTransfers = <T>(value: T, transfers: Transferable[]) => T;

/** Marks `value` with `mark` so the buffers inside `payloads` are transferred with it. */
export function withTransfers<T extends object>(value: T, payloads: Iterable<unknown>, mark: MarkTransfers): T {
  const found = new Set<Transferable>();
  const seen = new Set<object>();
  for (const payload of payloads) collectTransferables(payload, found, seen);
  return found.size === 0 ? value : mark(value, [...found]);
}

/** The batch entry point a worker exposes: runs `handler` on each message, settling each on its own. */
export function batchRunner(handler: MessageHandler, mark: MarkTransfers): WorkerApi {
  return {
    async run(types, payloads, meta) {
      const start = performance.now();
      const result: BatchResult = { data: new Array(payloads.length), errors: [] };
      const failed = (i: number, error: unknown) => void result.errors.push([i, errorText(error)]);
      let pending: Promise<void>[] | undefined;
      for (let i = 0; i < payloads.length; i++) {
        try {
          const type = typeof types === 'string' ? types : types[i]!;
          const value = handler(
            meta
              ? { type, payload: payloads[i], id: meta.ids[i]!, deliveries: meta.deliveries[i]! }
              : { type, payload: payloads[i] },
          );
          if (isThenable(value)) {
            (pending ??= []).push(
              Promise.resolve(value).then(
                (data) => void (result.data[i] = data),
                (error: unknown) => failed(i, error),
              ),
            );
          } else {
            result.data[i] = value;
          }
        } catch (error) {
          failed(i, error);
        }
      }
      if (pending) await Promise.all(pending);
      result.ms = performance.now() - start;
      return withTransfers(result, result.data, mark);
    },
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
