// Worker thread for bench/workers.ts under piscina: the same handler as workers-handler.ts, one task per call.
import { spin } from './workers-spin.js';

export default function handle({ type, payload }: { type: string; payload: unknown }): unknown {
  return type === 'spin' ? spin(payload as number) : payload;
}
