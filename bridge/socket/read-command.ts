/**
 * Reads what opens a connection: one command, everything up to the client's end of file, bounded
 * in size and time; or a session's first line (docs/protocol.md, "Sessions").
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { InvalidMessageFormat } from '../../src/errors.js';
import { SESSION_OPENING } from '../../src/wire/socket-protocol.js';
import { ClientGone } from '../errors.js';

/** Limits on reading a command. */
export interface ReadCommandOptions {
  /** Largest accepted command, in bytes (default 1 MiB). */
  maxBytes?: number;
  /**
   * How long a client has to send its whole command, from the moment it connects, in ms (default
   * 30 s): a deadline, not an idle timer, so a client dripping a byte at a time is cut off too.
   */
  idleTimeoutMs?: number;
}

export const DEFAULT_MAX_COMMAND_BYTES = 1024 * 1024;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/**
 * What a client still writing a command too large may send after the refusal, at most, and for how
 * long: it is read and dropped, so that the client, which reads only once it has written all,
 * gets the typed reply instead of a broken pipe or a reset.
 */
export const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;
export const DRAIN_LIMIT_MS = 5000;

/** What opened a connection: one command (its text), or a session (what came after its first line). */
export type Opening = { kind: 'command'; text: string } | { kind: 'session'; rest: Buffer };

/** The longest first line read as a possible session opening (`{"v": "session"}` with some spaces). */
const OPENING_MAX = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads and drops the rest of what a peer is sending after it was refused, so that the close
 * that follows does not reset the connection under the peer's write (it could lose the reply to
 * the reset). Resolves `ended` once the peer has sent it all, `cut` past `maxBytes` or `ms`
 * (the caller then closes over what is left), `gone` when the peer left first. Serves the socket
 * server's command too large and the HTTP face's body too large.
 */
export function discardRest(stream: Readable, maxBytes: number, ms: number): Promise<'ended' | 'cut' | 'gone'> {
  if (stream.readableEnded) return Promise.resolve('ended');
  return new Promise((resolve) => {
    let dropped = 0;
    const settle = (outcome: 'ended' | 'cut' | 'gone') => {
      clearTimeout(timer);
      stream.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
      resolve(outcome);
    };
    const onData = (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > maxBytes) settle('cut');
    };
    const onEnd = () => settle('ended');
    const onClose = () => settle(stream.readableEnded ? 'ended' : 'gone');
    const timer = setTimeout(() => settle('cut'), Math.max(0, ms));
    timer.unref();
    stream.on('data', onData).once('end', onEnd).once('close', onClose).once('error', onClose);
    stream.resume();
  });
}

/** Whether a connection's first line opens a session: `{"v": "session"}`, spaces allowed. */
function opensSession(line: Buffer): boolean {
  if (line.length > OPENING_MAX) return false;
  try {
    const parsed = JSON.parse(line.toString('utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null && (parsed as { v?: unknown }).v === SESSION_OPENING.v;
  } catch {
    return false;
  }
}

/**
 * Resolves with the command text once the client half-closes, or with a session once its first
 * line, ended by a newline before the end of file, is `{"v": "session"}`. Rejects with
 * {@link InvalidMessageFormat} (a reply is still possible) when the command is too large,
 * not UTF-8, or not complete by the deadline; with {@link ClientGone} when it disconnects. The
 * socket is left paused, except after a command too large: then it goes on reading and dropping
 * what comes (bounded), and closes by itself when the client ends or at the cap.
 */
export function readCommand(
  socket: Socket,
  { maxBytes = DEFAULT_MAX_COMMAND_BYTES, idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS }: ReadCommandOptions = {},
): Promise<Opening> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    /** Still looking at the first line (a session's opening). */
    let firstLine = true;
    const settle = (error?: Error, drain = false) => {
      socket.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
      clearTimeout(deadline);
      if (error && drain) {
        // The client is still writing the rest: dropped (bounded) so that the connection ends
        // cleanly after the reply.
        void discardRest(socket, DRAIN_LIMIT_BYTES, DRAIN_LIMIT_MS).then((outcome) => {
          if (outcome === 'cut') socket.destroy();
        });
        reject(error);
        return;
      }
      if (error) {
        // Stop reading: whatever else the client sends is not a command.
        socket.pause();
        reject(error);
        return;
      }
      try {
        resolve({ kind: 'command', text: utf8.decode(Buffer.concat(chunks, size)) });
      } catch {
        reject(new InvalidMessageFormat('Command is not valid UTF-8'));
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      // A session's opening first: its frames may come in the same write, beyond a command's limit.
      if (firstLine && (chunk.includes(0x0a) || size > OPENING_MAX)) {
        firstLine = false;
        const all = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
        const end = all.indexOf(0x0a);
        if (end >= 0 && opensSession(all.subarray(0, end))) {
          socket.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
          clearTimeout(deadline);
          socket.pause();
          return resolve({ kind: 'session', rest: all.subarray(end + 1) });
        }
      }
      if (size > maxBytes) {
        chunks.length = 0;
        settle(new InvalidMessageFormat(`Command exceeds the limit of ${maxBytes} bytes`), true);
      }
    };
    const onEnd = () => settle();
    const onClose = () => settle(new ClientGone('Client disconnected before sending a whole command'));
    const deadline = setTimeout(
      () => settle(new InvalidMessageFormat(`No complete command within ${idleTimeoutMs} ms`)),
      idleTimeoutMs,
    );
    deadline.unref();
    socket.on('data', onData).once('end', onEnd).once('close', onClose).once('error', onClose);
  });
}
