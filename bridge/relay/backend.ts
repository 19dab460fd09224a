/**
 * The socket server behind a bridge, as both faces reach it. A command that replies once goes on
 * one of a small pool of sessions (docs/protocol.md, "Sessions"), many in flight on each, when the
 * server offers them, and on a Unix connection of its own otherwise (eric-sse's server). A stream
 * keeps a connection of its own: its events are relayed by copying bytes (no parse per event), it is
 * paused by not reading its socket, and its connection's set-up is paid once for all its events.
 */

import type { Socket } from 'node:net';
import { BackendUnavailable, ClientClosed, ConnectionLost, EricBusError, formatException } from '../../src/errors.js';
import { SessionClient } from '../socket/session-client.js';
import { BackendCall, type BackendCallHandlers, unreachable } from './backend-call.js';

/** Sessions a bridge keeps to its socket server: commands spread over them, so one backed up holds up few. */
export const BACKEND_SESSIONS = 4;

/** A command under way on the socket server. */
export interface Pending {
  /** Stops reading a stream's connection (a command's reply is small: nothing to pause). */
  pause(): void;
  resume(): void;
  /** Lets the command go: nothing more is reported; a stream's key when the server may still serve it. */
  cancel(): string | undefined;
}

export class Backend {
  /** The socket server's socket file. */
  readonly socketPath: string;
  readonly #pool: SessionClient[];
  #next = 0;

  /** `connect`: opens a connection to a server in this process, for the sessions (streams use the socket file). */
  constructor(socketPath: string, connect?: () => Socket, sessions = BACKEND_SESSIONS) {
    this.socketPath = socketPath;
    const options = connect ? { connect } : {};
    this.#pool = Array.from({ length: sessions }, () => new SessionClient(socketPath, options));
  }

  /**
   * A lane for a client of the bridge: its commands all go on one session, so the server runs them in
   * the order they came (as Redis runs a pipeline); clients are spread over the sessions.
   */
  lane(): number {
    return this.#next++ % Math.max(1, this.#pool.length);
  }

  /**
   * Sends a command: a stream (`streaming`) on a connection of its own, a command on the session of
   * `lane` when the server offers sessions.
   */
  send(command: object, streaming: boolean, handlers: BackendCallHandlers, lane = this.lane()): Pending {
    if (streaming || this.#pool.length === 0) return new BackendCall(this.socketPath, command, streaming, handlers);
    let done = false;
    let fallback: BackendCall | undefined;
    const client = this.#pool[lane % this.#pool.length]!;
    client
      .withSession((session) => {
        if (done) return;
        if (!session) {
          // No sessions here (eric-sse's server): a connection of its own, as before.
          fallback = new BackendCall(this.socketPath, command, false, handlers);
          return;
        }
        return session.request(command).then(
          (reply) => {
            if (!done) handlers.reply(reply);
          },
          (error: unknown) => {
            if (!done) handlers.error(this.#errorText(error));
          },
        );
      })
      .catch((error: unknown) => {
        if (!done) handlers.error(this.#errorText(error));
      });
    return {
      pause() {},
      resume() {},
      cancel: () => {
        done = true;
        return fallback?.cancel();
      },
    };
  }

  /**
   * How many sessions to the server have ended so far: unchanged since a fact was learned, that fact
   * comes from the server running now (a restarted one ends every session of the one before).
   */
  get epoch(): number {
    let ended = 0;
    for (const client of this.#pool) ended += client.sessionsEnded;
    return ended;
  }

  /** Closes the sessions; commands still in flight on them fail as the bridge closes. */
  async close(): Promise<void> {
    await Promise.all(this.#pool.map((client) => client.close()));
  }

  /** A session's failure as the bridge words it: the server's own error as it came, its absence as the bridge's. */
  #errorText(error: unknown): string {
    if (error instanceof ConnectionLost || error instanceof ClientClosed)
      return formatException(
        new BackendUnavailable(`Lost the connection to the socket server at ${this.socketPath} (${error.message})`),
      );
    // The server's own error (typed, from its reply) as it came; a connection's (ENOENT, …) as the bridge's.
    if (error instanceof EricBusError) return formatException(error);
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code !== undefined) return unreachable(this.socketPath, code);
    return formatException(error instanceof Error ? error : new Error(String(error)));
  }
}
