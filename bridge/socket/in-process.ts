/**
 * A connection within one process: two ends that behave as a Unix socket's do for our server and
 * clients (what one writes the other reads, with backpressure; either end may half-close; closing
 * one closes both), without the kernel. `eric-bus up` runs its bridge beside its server, and the
 * bridge's sessions to that server go on such a connection.
 */

import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

class End extends Duplex {
  peer!: End;
  /** The peer's write waiting for this end's reader to want more. */
  #resumePeer: (() => void) | undefined;

  constructor() {
    super({ allowHalfOpen: true });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (peer.destroyed) return done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    if (peer.push(chunk)) done();
    else peer.#resumePeer = () => done();
  }

  override _read(): void {
    const resume = this.#resumePeer;
    this.#resumePeer = undefined;
    resume?.();
  }

  override _final(done: (error?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null);
    done();
  }

  /** Nothing to hold the process open with, or let go of: there is no handle behind it. */
  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.destroy();
    done(error);
  }
}

/** Two connected ends; each stands in for a `Socket` (the methods our server and clients use). */
export function inProcessPair(): [Socket, Socket] {
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a as unknown as Socket, b as unknown as Socket];
}
