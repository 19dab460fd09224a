/**
 * How deeply a JSON text nests, found by a scan of its characters before anything parses it:
 * commands and frames that nest deeper than {@link MAX_JSON_DEPTH} are refused at the door, so no
 * later `JSON.stringify` (which recurses) can overflow the stack on them, and a deep text costs
 * a short scan instead of a long parse.
 */

/** The deepest nesting of arrays and objects a command or frame may have (the command object itself is level 1). */
export const MAX_JSON_DEPTH = 1000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** The index just past the JSON string that opens at `start` (a `"`), or `text.length` when it never closes. */
export function stringEnd(text: string, start: number): number {
  for (let quote = text.indexOf('"', start + 1); quote >= 0; quote = text.indexOf('"', quote + 1)) {
    // A quote is escaped by an odd run of backslashes before it; runs never overlap, so this stays linear.
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
  }
  return text.length;
}

/**
 * True when `text` nests arrays and objects more than `max` levels deep. Strings are skipped, so
 * brackets inside them do not count; the scan stops at the first level too deep. Malformed JSON
 * is not judged here: `JSON.parse` reports it.
 */
export function nestsDeeperThan(text: string, max: number = MAX_JSON_DEPTH): boolean {
  // Each level takes a character: a short text (most commands) cannot be too deep.
  if (text.length <= max) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) i = stringEnd(text, i) - 1;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return false;
}

/**
 * The index just past the JSON value that starts at `start` (an object or array is skipped whole,
 * however deep, by counting brackets; a string to its closing quote; anything else up to the next
 * `,` `}` or `]`). For reading a text's top level without parsing the rest.
 */
export function valueEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = stringEnd(text, i) - 1;
      if (depth === 0) return i + 1;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) depth++;
    else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      if (depth === 0) return i;
      if (--depth === 0) return i + 1;
    } else if (c === 0x2c && depth === 0) return i;
  }
  return text.length;
}
