// The seam between a DataProcessingChannel and a queue shared by several processes
// (docs/workers.md, "Work across processes"): the channel dispatches into it, runs what it is given
// on its workers, and hears the outcomes of what it dispatched. Browser-safe: the Redis
// implementation lives in bridge/queue/.

/** A message as a work queue hands it to a process to run. */
export interface QueuedMessage {
  /** The message's id, given when it was dispatched; the same on every delivery. */
  readonly id: string;
  readonly type: string;
  readonly payload: unknown;
  /** Which delivery this is, counted from 1. */
  readonly deliveries: number;
}

/** How a run of a {@link QueuedMessage} ended: its result, or what its handler threw. */
export type QueuedResult =
  | { readonly message: QueuedMessage; readonly data: unknown }
  | { readonly message: QueuedMessage; readonly error: string };

/** What came of a message this process dispatched: its result, or the error it was dead-lettered with. */
export type QueueOutcome =
  | { readonly id: string; readonly route: string; readonly data: unknown }
  | { readonly id: string; readonly route: string; readonly error: string };

/** A process's membership of a queue's workers: how it reports what came of the messages it was given. */
export interface QueueMember {
  /** Reports finished runs: a result is stored then acknowledged; an error means another delivery. */
  settle(results: readonly QueuedResult[]): void;
}

/** A work queue shared by several processes, as a {@link DataProcessingChannel} uses it (e.g. `redisWorkQueue`). */
export interface WorkQueue {
  /** A new message id, unique across every process of the queue. */
  nextId(): string;
  /**
   * Stores a message for whichever process takes it; resolves once stored. Its outcome comes back
   * to this process's {@link onOutcome} callbacks with `route`.
   */
  add(message: { id: string; type: string; payload: unknown; route: string }): Promise<void>;
  /** Calls `callback` with the outcome of each message this process added; returns an unsubscriber. */
  onOutcome(callback: (outcome: QueueOutcome) => void): () => void;
  /** Joins the queue's workers with `slots` running at once: `run` gets the messages taken for this process. */
  join(slots: number, run: (messages: readonly QueuedMessage[]) => void): QueueMember;
  /** Leaves the queue: what this process holds goes back to the others at once; closes the connections. */
  close(): Promise<void>;
}
