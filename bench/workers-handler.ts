// Worker thread for bench/workers.ts: 'spin' burns CPU, anything else comes straight back.
import { exposeHandler } from '../bridge/workers/expose-in-thread.js';
import { spin } from './workers-spin.js';

exposeHandler(({ type, payload }) => (type === 'spin' ? spin(payload as number) : payload));
