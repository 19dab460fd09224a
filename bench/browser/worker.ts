// Web Worker for the browser benchmark: 'spin' burns CPU, anything else comes straight back.
import { exposeHandler } from 'eric-bus/worker';
import { spin } from '../workers-spin.js';

exposeHandler(({ type, payload }) => (type === 'spin' ? spin(payload as number) : payload));
