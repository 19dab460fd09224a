/** The client of eric-sse's Unix-socket protocol. */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { type Command, ProtocolClient, parseException } from '../../src/index.js';
import { eventLimitOf } from '../../src/wire/socket-protocol.js';
import { openCommand } from './connect.js';
import { lines } from './lines.js';

/**
 * Connects, writes the command and half-closes (`attach` adds the reply's listeners first); a
 * missing server is named plainly.
 */
async function open(path: string, command: Command | object, attach: (socket: Socket) => void): Promise<Socket> {
  try {
    return await openCommand(path, JSON.stringify(command), attach);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED')
      throw Object.assign(new Error(`No server listening on ${path} (${code})`), { code });
    throw error;
  }
}

/** Throws the typed error a reply carries, if it is one (`InvalidChannelException('No channel with id 2')`). */
function unlessError(reply: string): string {
  const error = parseException(reply);
  if (error) throw error;
  return reply;
}

/**
 * Talks to a {@link SocketServer} (ours or eric-sse's) on a socket file: one connection
 * per command. Replies are strings (`ack`, ids); error replies reject with typed errors
 * (`InvalidChannelException`, …); streams yield one JSON line per event.
 */
export class SocketClient extends ProtocolClient<string> {
  readonly path: string;

  constructor(path: string) {
    super();
    this.path = path;
  }

  /** Sends one command and resolves with the whole reply; rejects with the typed error the server replied. */
  async sendPayload(command: Command): Promise<string> {
    return unlessError(await this.sendRaw(command));
  }

  /**
   * Sends any JSON value as a command and resolves with the reply text as it came, errors included.
   * A connection error after reply bytes came resolves with them: a server that refuses a command
   * it has not read whole (too large) replies, then hangs up on the rest, which resets the
   * connection (ECONNRESET, or EPIPE on the write), and the reply is what it had to say. An error
   * before any reply rejects.
   */
  sendRaw(command: Command | object): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const reply = () => resolve(Buffer.concat(chunks).toString('utf8'));
      open(this.path, command, (socket) => {
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.once('error', (error) => (chunks.length > 0 ? reply() : reject(error)));
        socket.once('end', reply);
      }).catch(reject);
    });
  }

  /**
   * Sends a streaming command and yields each event line (JSON, without the newline); an error reply
   * is thrown typed. A command with `n` ends after that many events: an eric-bus server ends the
   * stream there, and one that ignores `n` (eric-sse's) is left without a word. Leaving early
   * closes the connection and tells an eric-bus server to end the stream at once (an `rs` for the
   * key the command carried); what the server had already written into the socket is lost with it
   * (docs/socket-server.md, "How streams behave"). Leaving is `break`, or `return()` at any time: while a
   * `next()` waits on an idle stream too (a command stopped by a signal), which then resolves as
   * done.
   */
  streamPayload(command: Command): AsyncIterableIterator<string> {
    const leave = new AbortController();
    const events = this.#events(command, leave.signal);
    return {
      next: () => events.next(),
      // A generator takes return() only between yields, after a pending next(): the abort ends the
      // read that next() waits on, so the generator gets there at once.
      return: () => {
        leave.abort();
        return events.return();
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  async *#events(command: Command, leave: AbortSignal): AsyncGenerator<string, void, undefined> {
    const key = randomUUID();
    // Errors surface through the loop below, which reads the socket's error state.
    const socket = await open(this.path, { ...command, s: key }, (s) => s.on('error', () => {}));
    const stopReading = () => socket.destroy();
    leave.addEventListener('abort', stopReading);
    let consumerLeft = false;
    let left = eventLimitOf(command);
    try {
      if (leave.aborted) return;
      for await (const line of lines(socket)) {
        if (line === '') continue;
        const item = line.startsWith('{') ? line : unlessError(line);
        // A consumer that leaves does so at a yield, or by the abort; the server's end or error reply never does.
        consumerLeft = true;
        yield item;
        consumerLeft = false;
        // The last event asked for: an eric-bus server has ended the stream (no `rs` needed).
        if (--left === 0) return;
      }
    } catch (error) {
      // The socket destroyed under the read, as asked: not a failure.
      if (!leave.aborted) throw error;
    } finally {
      leave.removeEventListener('abort', stopReading);
      socket.destroy();
      if (consumerLeft || leave.aborted) this.sendRaw({ v: 'rs', s: key }).catch(() => {});
    }
  }
}
