// Worker thread for bench/workers.ts: the same trivial handler exposed with plain comlink, one call per message.
import { parentPort } from 'node:worker_threads';
import { expose } from 'comlink';
import { nodeEndpoint } from '../bridge/comlink-node.js';

expose({ handle: (payload: unknown) => payload }, nodeEndpoint(parentPort!));
