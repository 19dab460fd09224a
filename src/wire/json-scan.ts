/**
 * Reading JSON text without parsing it: where a string or a value ends, how deep brackets nest,
 * a top-level member's value. The wire modules use it to judge frames and commands before
 * `JSON.parse` sees them, and the bridge to relay event lines byte for byte. Text (a string) and
 * bytes (UTF-8 in a `Uint8Array`, as a Node `Buffer` is) are read alike: JSON's structure is ASCII,
 * the same code in both, and no byte of a multi-byte character can be mistaken for it.
 */

// The characters of JSON's structure, by code (the same in UTF-16 and in UTF-8).
export const QUOTE = '"'.charCodeAt(0);
export const BACKSLASH = '\\'.charCodeAt(0);
export const COMMA = ','.charCodeAt(0);
export const COLON = ':'.charCodeAt(0);
export const OPEN_ARRAY = '['.charCodeAt(0);
export const CLOSE_ARRAY = ']'.charCodeAt(0);
export const OPEN_OBJECT = '{'.charCodeAt(0);
export const CLOSE_OBJECT = '}'.charCodeAt(0);
export const LF = '\n'.charCodeAt(0);
export const CR = '\r'.charCodeAt(0);

/** JSON's whitespace: space, tab, LF, CR. */
export function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x09 || c === LF || c === CR;
}

/** True for a character that ends a scalar (`,` `}` `]` or whitespace). */
export function isDelimiter(c: number): boolean {
  return c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY || isSpace(c);
}

// ---- Text --------------------------------------------------------------------------------------

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

/** The index of the first character at or after `from` that is not whitespace. */
export function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/**
 * True when `text` nests arrays and objects more than `max` levels deep. Strings are skipped, so
 * brackets inside them do not count; the scan stops at the first level too deep. Malformed JSON
 * is not judged here: `JSON.parse` reports it.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
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
    } else if (c === COMMA && depth === 0) return i;
  }
  return text.length;
}

/** The value of a top-level key of a JSON object's text, read without parsing the rest; undefined when unreadable. */
export function topLevelValue(text: string, key: string): unknown {
  const quoted = JSON.stringify(key);
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN_OBJECT) return undefined;
  for (i = skipSpace(text, i + 1); text.charCodeAt(i) === QUOTE; i = skipSpace(text, i + 1)) {
    const nameEnd = stringEnd(text, i);
    const name = text.slice(i, nameEnd);
    i = skipSpace(text, nameEnd);
    if (text.charCodeAt(i) !== COLON) return undefined;
    const start = skipSpace(text, i + 1);
    const end = valueEnd(text, start);
    if (name === quoted) {
      try {
        return JSON.parse(text.slice(start, end));
      } catch {
        return undefined;
      }
    }
    i = skipSpace(text, end);
    if (text.charCodeAt(i) !== COMMA) return undefined;
  }
  return undefined;
}

// ---- Bytes -------------------------------------------------------------------------------------

/**
 * What the last {@link bytesStringEnd} or {@link bytesValueEnd} saw, since {@link resetByteScan}:
 * an escape in a string, a raw line break (CR, LF or NUL) in a string, and line breaks between
 * the tokens of an object or array.
 */
export const byteScan = { escape: false, lineBreak: false, breaks: 0 };

export function resetByteScan(): void {
  byteScan.escape = byteScan.lineBreak = false;
  byteScan.breaks = 0;
}

/** True when `bytes[start..end)` looks like a JSON object: `{` … `}` (the socket server's event lines). */
export function looksLikeObject(bytes: Uint8Array, start: number, end: number): boolean {
  return end - start >= 2 && bytes[start] === OPEN_OBJECT && bytes[end - 1] === CLOSE_OBJECT;
}

/** True when the bytes of `head` start at `at` (before `end`). */
export function bytesStartWith(bytes: Uint8Array, at: number, end: number, head: Uint8Array): boolean {
  if (end - at < head.length) return false;
  for (let k = 0; k < head.length; k++) if (bytes[at + k] !== head[k]) return false;
  return true;
}

/** The index of the first byte at or after `i` (before `end`) that is not whitespace. */
export function bytesSkipSpace(bytes: Uint8Array, i: number, end: number): number {
  while (i < end && isSpace(bytes[i])) i++;
  return i;
}

/**
 * Index of the quote closing the string that opens at `i`, -1 if it does not close; notes escapes
 * and breaks in {@link byteScan}.
 */
export function bytesStringEnd(bytes: Uint8Array, i: number, end: number): number {
  for (let j = i + 1; j < end; j++) {
    const c = bytes[j]!;
    if (c === QUOTE) return j;
    if (c === BACKSLASH) {
      byteScan.escape = true;
      j++;
    } else if (c === CR || c === LF || c === 0) byteScan.lineBreak = true;
  }
  return -1;
}

/**
 * Index just after the JSON value starting at `i`, -1 if it does not end (or is no value);
 * counts the line breaks between an object's or array's tokens in {@link byteScan}.
 */
export function bytesValueEnd(bytes: Uint8Array, i: number, end: number): number {
  const first = bytes[i];
  if (first === QUOTE) {
    const close = bytesStringEnd(bytes, i, end);
    return close < 0 ? -1 : close + 1;
  }
  if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
    let depth = 0;
    for (let j = i; j < end; j++) {
      const c = bytes[j]!;
      if (c === QUOTE) {
        j = bytesStringEnd(bytes, j, end);
        if (j < 0) return -1;
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
      else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        if (--depth === 0) return j + 1;
      } else if (c === LF || (c === CR && bytes[j + 1] !== LF)) byteScan.breaks++;
    }
    return -1;
  }
  let j = i;
  while (j < end && !isDelimiter(bytes[j]!)) j++;
  return isScalar(bytes, i, j) ? j : -1;
}

/** True for `true`, `false`, `null` or a number (its characters; their order is the reader's concern). */
export function isScalar(bytes: Uint8Array, start: number, end: number): boolean {
  if (end === start) return false;
  const first = bytes[start];
  if (first === 0x74) return isWord(bytes, start, end, 'true');
  if (first === 0x66) return isWord(bytes, start, end, 'false');
  if (first === 0x6e) return isWord(bytes, start, end, 'null');
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    // 0-9 . - + e E
    if (!((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x2b || c === 0x65 || c === 0x45)) return false;
  }
  return true;
}

/** True when `bytes[start..end)` is the ASCII `word`. */
export function isWord(bytes: Uint8Array, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (bytes[start + k] !== word.charCodeAt(k)) return false;
  return true;
}

/** True when `bytes[start..end)` is a whole number: digits only, at least one. */
export function isWholeNumber(bytes: Uint8Array, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) if (bytes[i]! < 0x30 || bytes[i]! > 0x39) return false;
  return true;
}
