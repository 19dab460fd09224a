// comlink's Node adapter (a MessagePort or worker_threads Worker as a comlink endpoint). It ships
// as CommonJS whose module.exports is the function, while its typings declare a default export:
// the import is the function at run time, so take its type from the declared default.
import adapter from 'comlink/dist/umd/node-adapter.js';

/** Wraps a worker_threads `Worker` or `parentPort` as a comlink endpoint. */
export const nodeEndpoint = adapter as unknown as typeof adapter.default;
