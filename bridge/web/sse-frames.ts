/**
 * The HTTP face's fast path for Server-Sent Events: event lines from the socket server become
 * `text/event-stream` events (HTML standard, "event stream format") by copying bytes around
 * the fields of each line. One pass over the line's JSON finds `id`, `event`, `retry` and
 * `data`; nothing is parsed or re-serialised unless a type or id carries escapes.
 */
import { UnreadableEventLine } from '../errors.js';
import type { LineBatch } from './data-frames.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LF = 0x0a;
const CR = 0x0d;

/** Field positions of one line, `FIELDS` numbers per line in a flat array: start/end pairs, -1 when absent. */
const ID = 0;
const EVENT = 2;
const RETRY = 4;
const DATA = 6;
/** How many line breaks the data's JSON text holds (each starts another `data:` line). */
const BREAKS = 8;
const FIELDS = 9;

const PREFIX = {
  id: Buffer.from('id: '),
  event: Buffer.from('event: '),
  retry: Buffer.from('retry: '),
  data: Buffer.from('data: '),
  nextData: Buffer.from('\ndata: '),
};
const NULL = Buffer.from('null');
const utf8 = new TextDecoder();

/** Reused between calls (the bridge encodes one batch at a time); grown when a batch needs more. */
let positions = new Int32Array(256 * FIELDS);
/** A line's type or id when it had to be decoded (escapes) or re-escaped (line breaks); sparse. */
const replaced: (Buffer | null | undefined)[] = [];

/** A batch encoded: the events' bytes, and why encoding stopped early if a line was not an event. */
export interface EncodedEvents {
  bytes: Buffer;
  /** Set when a line was not a JSON object: `bytes` holds the events before it. */
  unreadable?: UnreadableEventLine;
}

/**
 * Encodes each event line of the batch as one event: `id:` (when the line has an id), `event:`,
 * `retry:` (when it is a whole number), and one `data:` line per line of the data's JSON text
 * (`null` when the line has none), then a blank line; all in one buffer. A type that would
 * still hold a line break after decoding is sent in its JSON-escaped form; an id that would
 * is left out, as the format cannot carry it.
 */
export function encodeSseEvents({ sources, starts, ends }: LineBatch): EncodedEvents {
  let count = starts.length;
  if (positions.length < count * FIELDS) positions = new Int32Array(count * FIELDS * 2);
  replaced.length = 0;
  let total = 0;
  let unreadable: UnreadableEventLine | undefined;
  for (let i = 0; i < count; i++) {
    try {
      total += scanLine(sources[i]!, starts[i]!, ends[i]!, i);
    } catch (error) {
      if (!(error instanceof UnreadableEventLine)) throw error;
      unreadable = error;
      count = i;
    }
  }
  const bytes = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < count; i++) at = writeEvent(bytes, at, sources[i]!, i);
  return unreadable ? { bytes, unreadable } : { bytes };
}

/** The text of a comment line that keeps an idle stream open (ignored by EventSource). */
export const KEEP_ALIVE = Buffer.from(': keep-alive\n\n');

/**
 * One event, written by hand for what does not come from a line (an error after the stream
 * has begun): `event:` and one `data:` line holding `data` as JSON.
 */
export function sseEvent(event: string, data: unknown): Buffer {
  return Buffer.from(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

// Scanning state shared by the helpers below (one line at a time, no allocation).
let sawEscape = false;
let sawBreak = false;
let breaks = 0;

/** Finds the fields of line `index` and returns the size of its event. */
function scanLine(source: Buffer, start: number, end: number, index: number): number {
  const base = index * FIELDS;
  positions.fill(-1, base, base + FIELDS);
  positions[base + BREAKS] = 0;
  let i = skipSpace(source, start, end);
  if (source[i] !== 0x7b) throw unreadable(source, start, end);
  i = skipSpace(source, i + 1, end);
  if (source[i] === 0x7d) {
    if (skipSpace(source, i + 1, end) === end) return sizeOf(source, index);
    throw unreadable(source, start, end);
  }
  for (;;) {
    if (source[i] !== QUOTE) throw unreadable(source, start, end);
    const keyEnd = stringEnd(source, i, end);
    if (keyEnd < 0) throw unreadable(source, start, end);
    const field = fieldOf(source, i + 1, keyEnd);
    i = skipSpace(source, keyEnd + 1, end);
    if (source[i] !== COLON) throw unreadable(source, start, end);
    const valueStart = skipSpace(source, i + 1, end);
    sawEscape = sawBreak = false;
    breaks = 0;
    const valueEnd = valueEndAt(source, valueStart, end);
    if (valueEnd < 0) throw unreadable(source, start, end);
    if (field >= 0) record(source, index, field, valueStart, valueEnd);
    i = skipSpace(source, valueEnd, end);
    if (source[i] === COMMA) {
      i = skipSpace(source, i + 1, end);
      continue;
    }
    if (source[i] === 0x7d && skipSpace(source, i + 1, end) === end) return sizeOf(source, index);
    throw unreadable(source, start, end);
  }
}

/** Keeps a value's position; a type or id with escapes or line breaks gets its replacement text. */
function record(source: Buffer, index: number, field: number, start: number, end: number): void {
  const base = index * FIELDS;
  if (field === DATA) {
    positions[base + DATA] = start;
    positions[base + DATA + 1] = end;
    // A raw line break inside a string is not JSON, but must not end the event early either.
    positions[base + BREAKS] = breaks + (sawBreak ? 1 : 0);
    return;
  }
  const isString = source[start] === QUOTE;
  if (field === RETRY) {
    if (isWholeNumber(source, start, end)) {
      positions[base + RETRY] = start;
      positions[base + RETRY + 1] = end;
    }
    return;
  }
  // A type or id: a string (its text between the quotes); a number id is kept as written.
  if (!isString && !(field === ID && isWholeNumber(source, start, end))) return;
  const textStart = isString ? start + 1 : start;
  const textEnd = isString ? end - 1 : end;
  positions[base + field] = textStart;
  positions[base + field + 1] = textEnd;
  const slot = index * 2 + (field === ID ? 0 : 1);
  replaced[slot] = sawEscape || sawBreak ? replacement(source, textStart, textEnd, field) : undefined;
}

/** The decoded text of a type or id; null leaves an id out (it cannot be carried). */
function replacement(source: Buffer, start: number, end: number, field: number): Buffer | null {
  const raw = utf8.decode(source.subarray(start, end));
  let text = raw;
  try {
    text = JSON.parse(`"${raw}"`) as string;
  } catch {
    // Not valid JSON text: relayed as it came, re-escaped below if it breaks a line.
  }
  if (!/[\r\n\0]/.test(text)) return Buffer.from(text);
  return field === ID ? null : Buffer.from(JSON.stringify(text).slice(1, -1));
}

function sizeOf(source: Buffer, index: number): number {
  const base = index * FIELDS;
  let size = 1; // the blank line
  const id = textLength(index, ID);
  if (id >= 0) size += PREFIX.id.length + id + 1;
  const event = textLength(index, EVENT);
  if (event >= 0) size += PREFIX.event.length + event + 1;
  if (positions[base + RETRY]! >= 0)
    size += PREFIX.retry.length + positions[base + RETRY + 1]! - positions[base + RETRY]! + 1;
  size += PREFIX.data.length + 1;
  const dataStart = positions[base + DATA]!;
  if (dataStart < 0) return size + NULL.length;
  const dataEnd = positions[base + DATA + 1]!;
  if (positions[base + BREAKS] === 0) return size + dataEnd - dataStart;
  // Each line break (CR, LF or CRLF) becomes the start of another `data:` line.
  for (let i = dataStart; i < dataEnd; i++) {
    const c = source[i];
    if (c === CR && source[i + 1] === LF) i++;
    size += c === CR || c === LF ? PREFIX.nextData.length : 1;
  }
  return size;
}

/** Bytes of a type's or id's text, -1 when absent (or an id that cannot be carried). */
function textLength(index: number, field: number): number {
  const start = positions[index * FIELDS + field]!;
  if (start < 0) return -1;
  const swap = replaced[index * 2 + (field === ID ? 0 : 1)];
  if (swap === null) return -1;
  return swap ? swap.length : positions[index * FIELDS + field + 1]! - start;
}

function writeEvent(out: Buffer, at: number, source: Buffer, index: number): number {
  const base = index * FIELDS;
  at = writeText(out, at, source, index, ID, PREFIX.id);
  at = writeText(out, at, source, index, EVENT, PREFIX.event);
  const retryStart = positions[base + RETRY]!;
  if (retryStart >= 0) at = writeField(out, at, PREFIX.retry, source, retryStart, positions[base + RETRY + 1]!);
  const dataStart = positions[base + DATA]!;
  if (dataStart < 0) at = writeField(out, at, PREFIX.data, NULL, 0, NULL.length);
  else if (positions[base + BREAKS] === 0)
    at = writeField(out, at, PREFIX.data, source, dataStart, positions[base + DATA + 1]!);
  else {
    out.set(PREFIX.data, at);
    at += PREFIX.data.length;
    const dataEnd = positions[base + DATA + 1]!;
    for (let i = dataStart; i < dataEnd; i++) {
      const c = source[i]!;
      if (c !== CR && c !== LF) {
        out[at++] = c;
        continue;
      }
      if (c === CR && source[i + 1] === LF) i++;
      out.set(PREFIX.nextData, at);
      at += PREFIX.nextData.length;
    }
    out[at++] = LF;
  }
  out[at++] = LF;
  return at;
}

function writeText(out: Buffer, at: number, source: Buffer, index: number, field: number, prefix: Buffer): number {
  const start = positions[index * FIELDS + field]!;
  if (start < 0) return at;
  const swap = replaced[index * 2 + (field === ID ? 0 : 1)];
  if (swap === null) return at;
  if (swap) return writeField(out, at, prefix, swap, 0, swap.length);
  return writeField(out, at, prefix, source, start, positions[index * FIELDS + field + 1]!);
}

function writeField(out: Buffer, at: number, prefix: Buffer, source: Buffer, start: number, end: number): number {
  out.set(prefix, at);
  at += prefix.length;
  out.set(source.subarray(start, end), at);
  at += end - start;
  out[at++] = LF;
  return at;
}

/** Which field a key names (`id`, `event`, `retry`, `data`), -1 for any other. */
function fieldOf(source: Buffer, start: number, end: number): number {
  if (isWord(source, start, end, 'data')) return DATA;
  if (isWord(source, start, end, 'event')) return EVENT;
  if (isWord(source, start, end, 'retry')) return RETRY;
  if (isWord(source, start, end, 'id')) return ID;
  return -1;
}

/** Index of the quote closing the string that opens at `i`, -1 if it does not close. */
function stringEnd(source: Buffer, i: number, end: number): number {
  for (let j = i + 1; j < end; j++) {
    const c = source[j]!;
    if (c === QUOTE) return j;
    if (c === BACKSLASH) {
      sawEscape = true;
      j++;
    } else if (c === CR || c === LF || c === 0) sawBreak = true;
  }
  return -1;
}

/** Index just after the JSON value starting at `i`, -1 if it does not end; counts line breaks between tokens. */
function valueEndAt(source: Buffer, i: number, end: number): number {
  const first = source[i];
  if (first === QUOTE) {
    const close = stringEnd(source, i, end);
    return close < 0 ? -1 : close + 1;
  }
  if (first === 0x7b || first === 0x5b) {
    let depth = 0;
    for (let j = i; j < end; j++) {
      const c = source[j]!;
      if (c === QUOTE) {
        j = stringEnd(source, j, end);
        if (j < 0) return -1;
      } else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (--depth === 0) return j + 1;
      } else if (c === LF || (c === CR && source[j + 1] !== LF)) breaks++;
    }
    return -1;
  }
  let j = i;
  while (j < end && !isDelimiter(source[j]!)) j++;
  return isScalar(source, i, j) ? j : -1;
}

/** True for `true`, `false`, `null` or a number (its characters; their order is the reader's concern). */
function isScalar(source: Buffer, start: number, end: number): boolean {
  if (end === start) return false;
  const first = source[start];
  if (first === 0x74) return isWord(source, start, end, 'true');
  if (first === 0x66) return isWord(source, start, end, 'false');
  if (first === 0x6e) return isWord(source, start, end, 'null');
  for (let i = start; i < end; i++) {
    const c = source[i]!;
    // 0-9 . - + e E
    if (!((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x2b || c === 0x65 || c === 0x45)) return false;
  }
  return true;
}

function isWord(source: Buffer, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (source[start + k] !== word.charCodeAt(k)) return false;
  return true;
}

function isDelimiter(c: number): boolean {
  return c === COMMA || c === 0x7d || c === 0x5d || c === 0x20 || c === 0x09 || c === LF || c === CR;
}

function skipSpace(source: Buffer, i: number, end: number): number {
  while (i < end) {
    const c = source[i];
    if (c !== 0x20 && c !== 0x09 && c !== LF && c !== CR) break;
    i++;
  }
  return i;
}

function isWholeNumber(source: Buffer, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) if (source[i]! < 0x30 || source[i]! > 0x39) return false;
  return true;
}

function unreadable(source: Buffer, start: number, end: number): UnreadableEventLine {
  const text = utf8.decode(source.subarray(start, Math.min(end, start + 200)));
  return new UnreadableEventLine(`Not an event line: ${text}`);
}
