/** The socket file: claiming its path safely and creating it private to its owner. */
import { chmod, lstat, mkdir, stat, unlink } from 'node:fs/promises';
import { connect, type Server } from 'node:net';
import { dirname } from 'node:path';

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

/**
 * Creates the socket's directory (and any missing parent), mode 0700, when it does not exist:
 * a socket in a directory only its owner can enter cannot be reached, or taken over while the
 * server is down, by other users. An existing directory is left as it is.
 */
export async function ensureSocketDir(path: string): Promise<void> {
  const dir = dirname(path);
  const first = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (first === undefined) return;
  // The umask may have taken bits off: set the mode of each directory made, from the deepest up.
  for (let made = dir; ; made = dirname(made)) {
    await chmod(made, 0o700);
    if (made === first || dirname(made) === made) break;
  }
}

/** True when users other than the owner may create files in the socket's directory (as in /tmp). */
export async function isSharedDir(path: string): Promise<boolean> {
  return ((await stat(dirname(path))).mode & 0o022) !== 0;
}

/** Listens on `path` with the socket file created mode 0600 (owner only), in a 0700 directory if it makes one. */
export async function listenPrivately(server: Server, path: string, backlog = 1024): Promise<void> {
  await ensureSocketDir(path);
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
