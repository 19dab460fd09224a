/** The client of eric-sse's Unix-socket protocol. */
import type { Socket } from 'node:net';
import { type Command, ProtocolClient, parseException } from '../../src/index.js';
import { openCommand } from './connect.js';
import { lines } from './lines.js';

/** Connects, writes the command and half-closes; a missing server is named plainly. */
async function open(path: string, command: Command | object): Promise<Socket> {
  try {
    return await openCommand(path, JSON.stringify(command));
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

  /** Sends any JSON value as a command and resolves with the reply text as it came, errors included. */
  async sendRaw(command: Command | object): Promise<string> {
    const socket = await open(this.path, command);
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.once('error', reject);
      socket.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  }

  /**
   * Sends a streaming command and yields each event line (JSON, without the newline); an error reply
   * is thrown typed.
   */
  async *streamPayload(command: Command): AsyncGenerator<string, void, undefined> {
    const socket = await open(this.path, command);
    try {
      for await (const line of lines(socket)) {
        if (line === '') continue;
        yield line.startsWith('{') ? line : unlessError(line);
      }
    } finally {
      socket.destroy();
    }
  }
}
