/** Reads one command from a connection: everything up to the client's end of file, bounded in size and time. */
import type { Socket } from 'node:net';
import { InvalidMessageFormat } from '../../src/errors.js';
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

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Resolves with the command text once the client half-closes. Rejects with
 * {@link InvalidMessageFormat} (a reply is still possible) when the command is too large,
 * not UTF-8, or not complete by the deadline; with {@link ClientGone} when it disconnects.
 */
export function readCommand(
  socket: Socket,
  { maxBytes = DEFAULT_MAX_COMMAND_BYTES, idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS }: ReadCommandOptions = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error?: Error) => {
      socket.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
      clearTimeout(deadline);
      if (error) {
        // Stop reading: whatever else the client sends is not a command.
        socket.pause();
        reject(error);
        return;
      }
      try {
        resolve(utf8.decode(Buffer.concat(chunks, size)));
      } catch {
        reject(new InvalidMessageFormat('Command is not valid UTF-8'));
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) settle(new InvalidMessageFormat(`Command exceeds the limit of ${maxBytes} bytes`));
      else chunks.push(chunk);
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
