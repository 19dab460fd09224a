/** The socket file: claiming its path safely and creating it private to its owner. */
import { chmod, lstat, mkdir, stat, unlink } from 'node:fs/promises';
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
 * Makes `path` free to listen on: a socket file left by a dead server is removed; a missing
 * directory whose parent exists is made (mode 0700); a live server's socket, a file that is not
 * a socket, or a directory missing further up is reported as a {@link SocketPathUnavailable}.
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

/**
 * The socket's directory must exist (listen() would report it as EACCES or ENOENT, naming
 * neither), or be made: a missing directory whose parent exists is created mode 0700, so that
 * other users can neither reach the socket nor take its path while the server is down. A path
 * missing more than that is more likely a mistake, and named.
 */
async function checkDirectory(path: string): Promise<void> {
  const dir = dirname(path);
  const found = await directoryAt(dir);
  if (found) return;
  if (found === undefined && (await directoryAt(dirname(dir)))) {
    await mkdir(dir, { mode: 0o700 });
    // The umask may have taken bits off.
    await chmod(dir, 0o700);
    return;
  }
  throw new SocketPathUnavailable(`Cannot create the socket ${path}: there is no directory ${dir}`);
}

/** True for a directory, false for something else, undefined when nothing is there. */
async function directoryAt(path: string): Promise<boolean | undefined> {
  const found = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  return found?.isDirectory();
}

/** True when users other than the owner may create files in the socket's directory (as in /tmp). */
export async function isSharedDir(path: string): Promise<boolean> {
  return ((await stat(dirname(path))).mode & 0o022) !== 0;
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
