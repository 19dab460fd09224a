/** A raw stream reader for the socket benchmarks: the least a client can do with a stream. */
import { connect } from 'node:net';

/** Sends `command` on a Unix socket and counts the reply's newlines, closing once `count` have arrived. */
export function countLines(path: string, command: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let seen = 0;
    socket.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) seen++;
      if (seen >= count) {
        socket.destroy();
        resolve();
      }
    });
    socket.once('error', reject);
    socket.once('connect', () => socket.end(command));
  });
}
