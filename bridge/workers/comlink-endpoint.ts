// comlink's Node adapter (a MessagePort or worker_threads Worker as a comlink endpoint), from comlink's
// ESM build: a worker thread loads that in a few ms, where the CommonJS files that `comlink` resolves
// to in Node cost each new worker about 10 ms more (so a cold pool's workers start later).
import type { Endpoint } from 'comlink';
import adapter from 'comlink/dist/esm/node-adapter.mjs';
import type { NodeEndpoint } from 'comlink/dist/umd/node-adapter.js';

/** Wraps a worker_threads `Worker` or `parentPort` as a comlink endpoint. */
export const nodeEndpoint: (port: NodeEndpoint) => Endpoint = adapter;
