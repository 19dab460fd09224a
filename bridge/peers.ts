/**
 * The optional peer dependencies: ws (the bridge, and the command line's `--url`), ioredis
 * (`RedisStore`), jose (signed tokens: `--jwt-key`, `eric-bus token`) and prom-client (metrics). A
 * browser-only install has none of them, so each is imported only when something needs it, and its
 * absence is one typed error saying what to install.
 */
import type { Redis } from 'ioredis';
import { StartError } from './errors.js';

/** ws, for `user` (`The bridge`, `--url`); a {@link StartError} (`… needs ws: npm install ws`) without it. */
export function loadWs(user: string): Promise<typeof import('ws')> {
  return importPeer(() => import('ws'), 'ws', user);
}

/** ioredis's client, for `user` (`RedisStore`); a {@link StartError} (`RedisStore needs ioredis: …`) without it. */
export async function loadRedis(user = 'RedisStore'): Promise<typeof Redis> {
  return (await importPeer(() => import('ioredis'), 'ioredis', user)).Redis;
}

/** prom-client, for metrics; a {@link StartError} (`Metrics needs prom-client: …`) without it. */
export async function loadPromClient(): Promise<typeof import('prom-client')> {
  return importPeer(() => import('prom-client'), 'prom-client', 'Metrics');
}

/** jose, for `user` (`--jwt-key`, `eric-bus token`); a {@link StartError} (`… needs jose: …`) without it. */
export function loadJose(user: string): Promise<typeof import('jose')> {
  return importPeer(() => import('jose'), 'jose', user);
}

/**
 * Imports the package `name` with `load`. When it is not installed, rejects with a
 * {@link StartError} saying `${user} needs ${name}: npm install ${name}` (what is missing is an
 * install, not a server: nothing to retry); any other failure of the import (a broken install) is
 * rethrown as it is.
 */
async function importPeer<T>(load: () => Promise<T>, name: string, user: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'ERR_MODULE_NOT_FOUND' && message.includes(`'${name}'`))
      throw new StartError(`${user} needs ${name}: npm install ${name}`);
    throw error;
  }
}
