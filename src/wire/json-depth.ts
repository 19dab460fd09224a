/**
 * How deeply a JSON text nests, found by a scan of its characters before anything parses it:
 * commands and frames that nest deeper than {@link MAX_JSON_DEPTH} are refused at the door, so no
 * later `JSON.stringify` (which recurses) can overflow the stack on them, and a deep text costs
 * a short scan instead of a long parse.
 */
import { nestsDeeperThan as deeperThan } from './json-scan.js';

/** The deepest nesting of arrays and objects a command or frame may have (the command object itself is level 1). */
export const MAX_JSON_DEPTH = 1000;

/** True when `text` nests arrays and objects more than `max` levels deep (see `json-scan.ts`). */
export function nestsDeeperThan(text: string, max: number = MAX_JSON_DEPTH): boolean {
  return deeperThan(text, max);
}
