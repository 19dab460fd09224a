/**
 * How the server learns that an idle stream's client has gone. A client half-closes after its
 * command, so the server has read its end of file; when the client later closes for good, Linux
 * marks the server's socket hung up, but Node (libuv) stops watching a socket for reading at end of
 * file and watches it for writing only while a write waits, so nothing reports the hang-up: no
 * 'close', no 'error', however long the server waits (reading again only finds the same end of
 * file). A write does: a zero-byte write sends nothing to a live client and fails at once (EPIPE)
 * on one that has gone, and the socket closes.
 */
import type { Socket } from 'node:net';

const NOTHING = Buffer.alloc(0);

/**
 * Probes an idle stream's socket with a zero-byte write; resolves true once a client that has
 * gone is known gone (its socket closed, so its stream has ended), false when it is still there.
 * A socket with writes still waiting is not probed (its own writes will tell): false.
 */
export function probeClient(socket: Socket): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  if (!socket.writable || socket.writableLength > 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    socket.write(NOTHING, (error) => {
      if (!error) return resolve(false);
      // The failed write destroys the socket; its 'close' (which ends the stream) comes next.
      if (socket.closed) resolve(true);
      else socket.once('close', () => resolve(true));
    });
  });
}
