// A page directory served by Vite's dev server on loopback, for the Chromium tests and benchmarks.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'vite';

/** A served page: its URL, and how to stop serving it. */
export interface ServedPage {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `root` (no config file, no HMR) with `eric-bus` and `eric-bus/worker` meaning the
 * sources under `repo`, so the page and its workers run the code under test.
 */
export async function serveSourcePage(root: string, repo: string): Promise<ServedPage> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'eric-bus-vite-'));
  const server = await createServer({
    configFile: false,
    root,
    cacheDir,
    logLevel: 'silent',
    resolve: {
      alias: [
        { find: /^eric-bus$/, replacement: join(repo, 'src/index.ts') },
        { find: /^eric-bus\/worker$/, replacement: join(repo, 'src/workers/expose-handler.ts') },
      ],
    },
    server: { host: '127.0.0.1', port: 0, fs: { allow: [repo] }, hmr: false, watch: null },
  });
  const close = async () => {
    await server.close();
    await rm(cacheDir, { recursive: true, force: true });
  };
  try {
    await server.listen();
    const address = server.httpServer?.address();
    if (!address || typeof address === 'string') throw new Error('Vite did not listen on a TCP port');
    return { url: `http://127.0.0.1:${address.port}/`, close };
  } catch (error) {
    await close();
    throw error;
  }
}
