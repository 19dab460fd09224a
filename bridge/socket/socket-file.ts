/** The socket file: claiming its path safely and creating it private to its owner. */
import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect, type Server } from 'node:net';

/** Resolves true when a server accepts connections on `path`. */
function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * Makes `path` free to listen on: a socket file left by a dead server is removed; a live
 * server's socket, or a file that is not a socket, is left alone and reported.
 */
export async function claimSocketPath(path: string): Promise<void> {
  let stats: Awaited<ReturnType<typeof lstat>>;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isSocket()) throw new Error(`${path} exists and is not a socket; not replacing it`);
  if (await isLive(path)) throw new Error(`A server is already listening on ${path}`);
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

/** Listens on `path` with the socket file created mode 0600 (owner only). */
export async function listenPrivately(server: Server, path: string, backlog = 1024): Promise<void> {
  await claimSocketPath(path);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    // The umask covers the moment the file appears; chmod below covers threads where umask is unavailable.
    const restore = tightenUmask();
    try {
      server.listen({ path, backlog }, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      restore();
    }
  });
  await chmod(path, 0o600);
}

function tightenUmask(): () => void {
  try {
    const old = process.umask(0o177);
    return () => process.umask(old);
  } catch {
    return () => {};
  }
}
