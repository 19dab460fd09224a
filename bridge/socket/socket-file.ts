/** The socket file: claiming its path safely and creating it private to its owner. */
import { chmod, lstat, stat, unlink } from 'node:fs/promises';
import { connect, type Server } from 'node:net';
import { dirname } from 'node:path';
import { SocketPathUnavailable } from '../errors.js';

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
 * server's socket, a file that is not a socket, or a missing directory is reported as a
 * {@link SocketPathUnavailable}.
 */
export async function claimSocketPath(path: string): Promise<void> {
  let stats: Awaited<ReturnType<typeof lstat>>;
  try {
    stats = await lstat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return checkDirectory(path);
    throw error;
  }
  if (!stats.isSocket()) throw new SocketPathUnavailable(`${path} exists and is not a socket; not replacing it`);
  if (await isLive(path)) throw new SocketPathUnavailable(`A server is already listening on ${path}`);
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

/** The socket's directory must exist: listen() would report it as EACCES or ENOENT, naming neither. */
async function checkDirectory(path: string): Promise<void> {
  const dir = dirname(path);
  const found = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  if (!found?.isDirectory())
    throw new SocketPathUnavailable(`Cannot create the socket ${path}: there is no directory ${dir}`);
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
