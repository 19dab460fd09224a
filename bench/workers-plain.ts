// Worker thread for bench/workers.ts: the same trivial handler exposed with plain comlink, one call per message.
import { parentPort } from 'node:worker_threads';
import { expose } from 'comlink';
import { nodeEndpoint } from '../bridge/workers/comlink-endpoint.js';

expose({ handle: (payload: unknown) => payload }, nodeEndpoint(parentPort!));
