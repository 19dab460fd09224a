/**
 * The HTTP face's fast path for Server-Sent Events: event lines from the socket server become
 * `text/event-stream` events (HTML standard, "event stream format") by copying bytes around
 * the fields of each line. One pass over the line's JSON finds `id`, `event`, `retry` and
 * `data`; nothing is parsed or re-serialised unless a type or id carries escapes.
 */
import { EVENT_STREAM_FIELD, EVENT_STREAM_KEEP_ALIVE, eventStreamText } from '../../src/wire/event-stream.js';
import {
  BACKSLASH,
  byteScan,
  bytesSkipSpace,
  bytesStartWith,
  bytesStringEnd,
  bytesValueEnd,
  CLOSE_OBJECT,
  COLON,
  COMMA,
  CR,
  isWholeNumber,
  LF,
  OPEN_OBJECT,
  QUOTE,
  resetByteScan,
} from '../../src/wire/json-scan.js';
import { UnreadableEventLine } from '../errors.js';
import type { LineBatch } from '../relay/backend-call.js';

/** Where the fields of each line are: `FIELDS` numbers per line in a flat array. Start/end pairs, -1 when absent. */
const [ID, EVENT, RETRY, DATA] = [0, 2, 4, 6];
/** Non-zero when the data's JSON text holds line breaks (each starts another `data:` line). */
const BREAKS = 8;
/** For the id and the type: -1 as written, -2 left out, otherwise the index of its replacement in `swaps`. */
const ID_SWAP = 9;
const EVENT_SWAP = 10;
const FIELDS = 11;
const AS_WRITTEN = -1;
const LEFT_OUT = -2;

/** The start of each line of an event, as the one writer of the format lays them out. */
const PREFIX = {
  id: Buffer.from(EVENT_STREAM_FIELD.id),
  event: Buffer.from(EVENT_STREAM_FIELD.event),
  retry: Buffer.from(EVENT_STREAM_FIELD.retry),
  data: Buffer.from(EVENT_STREAM_FIELD.data),
  nextData: Buffer.from(`\n${EVENT_STREAM_FIELD.data}`),
};
const NULL = Buffer.from('null');
const utf8 = new TextDecoder();

/** Reused between calls (the bridge encodes one batch at a time); grown when a batch needs more. */
let positions = new Int32Array(256 * FIELDS);
/** Types and ids that had to be decoded (escapes) or re-escaped (line breaks), for this batch. */
const swaps: Buffer[] = [];

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
  swaps.length = 0;
  let total = 0;
  let unreadable: UnreadableEventLine | undefined;
  // A raw CR would end an event's line early; chunks without one (all of eric-bus's) may take the fast path.
  let source: Buffer | undefined;
  let hasCR = true;
  for (let i = 0; i < count; i++) {
    if (sources[i] !== source) {
      source = sources[i]!;
      hasCR = source.indexOf(CR) >= 0;
    }
    try {
      const compact = hasCR ? -1 : scanCompact(source, starts[i]!, ends[i]!, i * FIELDS);
      total += compact >= 0 ? compact : scanLine(source, starts[i]!, ends[i]!, i * FIELDS);
    } catch (error) {
      if (!(error instanceof UnreadableEventLine)) throw error;
      unreadable = error;
      count = i;
    }
  }
  const bytes = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < count; i++) at = writeEvent(bytes, at, sources[i]!, i * FIELDS);
  return unreadable ? { bytes, unreadable } : { bytes };
}

/** The text of a comment line that keeps an idle stream open (ignored by EventSource). */
export const KEEP_ALIVE = Buffer.from(EVENT_STREAM_KEEP_ALIVE);

/**
 * One event, written by hand for what does not come from a line (an error after the stream
 * has begun): `event:` and one `data:` line holding `data` as JSON.
 */
export function sseEvent(event: string, data: unknown): Buffer {
  return Buffer.from(eventStreamText(event, JSON.stringify(data)));
}

/** Index of the closing quote of the key {@link keyField} read last. */
let keyEnd = 0;

const COMPACT_HEAD = Buffer.from('{"event":"');
const COMPACT_RETRY = Buffer.from(',"retry":');
const COMPACT_DATA = Buffer.from(',"data":');
const COMPACT_ID = Buffer.from(',"id":"');

/**
 * The fast path, for the shape eric-bus's server writes, `{"event":"…","retry":5,"data":…,"id":"…"}`
 * (compact, id last, type and id without escapes): the data is what lies between `"data":` and
 * `,"id":"…"}`, found without reading it, as the WebSocket path relays lines without reading
 * them. Returns the event's size, or -1 for any other shape (then read by {@link scanLine}).
 */
function scanCompact(source: Buffer, start: number, end: number, base: number): number {
  if (!bytesStartWith(source, start, end, COMPACT_HEAD)) return -1;
  const eventStart = start + COMPACT_HEAD.length;
  let i = eventStart;
  for (; i < end; i++) {
    const c = source[i]!;
    if (c === QUOTE) break;
    if (c === BACKSLASH || c < 0x20) return -1;
  }
  const eventEnd = i;
  if (!bytesStartWith(source, i + 1, end, COMPACT_RETRY)) return -1;
  const retryStart = i + 1 + COMPACT_RETRY.length;
  i = retryStart;
  while (i < end && source[i]! >= 0x30 && source[i]! <= 0x39) i++;
  const retryEnd = i;
  if (retryEnd === retryStart || !bytesStartWith(source, i, end, COMPACT_DATA)) return -1;
  const dataStart = i + COMPACT_DATA.length;
  // From the end: `"}` closes the id, whose text runs back to its opening quote.
  if (source[end - 1] !== CLOSE_OBJECT || source[end - 2] !== QUOTE) return -1;
  const idEnd = end - 2;
  let j = idEnd - 1;
  for (; j > dataStart; j--) {
    const c = source[j]!;
    if (c === QUOTE) break;
    if (c === BACKSLASH || c < 0x20) return -1;
  }
  const dataEnd = j + 1 - COMPACT_ID.length;
  if (dataEnd <= dataStart || !bytesStartWith(source, dataEnd, end, COMPACT_ID)) return -1;
  positions[base + ID] = j + 1;
  positions[base + ID + 1] = idEnd;
  positions[base + EVENT] = eventStart;
  positions[base + EVENT + 1] = eventEnd;
  positions[base + RETRY] = retryStart;
  positions[base + RETRY + 1] = retryEnd;
  positions[base + DATA] = dataStart;
  positions[base + DATA + 1] = dataEnd;
  positions[base + BREAKS] = 0;
  positions[base + ID_SWAP] = positions[base + EVENT_SWAP] = AS_WRITTEN;
  return (
    PREFIX.id.length +
    idEnd -
    j + // the id and its newline
    PREFIX.event.length +
    eventEnd -
    eventStart +
    1 +
    PREFIX.retry.length +
    retryEnd -
    retryStart +
    1 +
    PREFIX.data.length +
    dataEnd -
    dataStart +
    1 +
    1
  );
}

/** Finds the fields of the line whose positions start at `base`; returns the size of its event. */
function scanLine(source: Buffer, start: number, end: number, base: number): number {
  for (let k = 0; k < FIELDS; k++) positions[base + k] = -1;
  positions[base + BREAKS] = 0;
  let i = bytesSkipSpace(source, start, end);
  if (source[i] !== OPEN_OBJECT) throw unreadable(source, start, end);
  i = bytesSkipSpace(source, i + 1, end);
  if (source[i] === CLOSE_OBJECT) {
    if (bytesSkipSpace(source, i + 1, end) === end) return sizeOf(source, base);
    throw unreadable(source, start, end);
  }
  for (;;) {
    if (source[i] !== QUOTE) throw unreadable(source, start, end);
    const field = keyField(source, i, end);
    if (keyEnd < 0) throw unreadable(source, start, end);
    i = bytesSkipSpace(source, keyEnd + 1, end);
    if (source[i] !== COLON) throw unreadable(source, start, end);
    const valueStart = bytesSkipSpace(source, i + 1, end);
    resetByteScan();
    const valueEnd = bytesValueEnd(source, valueStart, end);
    if (valueEnd < 0) throw unreadable(source, start, end);
    if (field >= 0) record(source, base, field, valueStart, valueEnd);
    i = bytesSkipSpace(source, valueEnd, end);
    if (source[i] === COMMA) {
      i = bytesSkipSpace(source, i + 1, end);
      continue;
    }
    if (source[i] === CLOSE_OBJECT && bytesSkipSpace(source, i + 1, end) === end) return sizeOf(source, base);
    throw unreadable(source, start, end);
  }
}

/** Keeps a value's position; a type or id with escapes or line breaks gets its replacement text. */
function record(source: Buffer, base: number, field: number, start: number, end: number): void {
  if (field === DATA) {
    positions[base + DATA] = start;
    positions[base + DATA + 1] = end;
    // A raw line break inside a string is not JSON, but must not end the event early either.
    positions[base + BREAKS] = byteScan.breaks + (byteScan.lineBreak ? 1 : 0);
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
  const swap = field === ID ? ID_SWAP : EVENT_SWAP;
  if (!byteScan.escape && !byteScan.lineBreak) positions[base + swap] = AS_WRITTEN;
  else {
    const text = replacement(source, textStart, textEnd, field);
    positions[base + swap] = text === null ? LEFT_OUT : swaps.push(text) - 1;
  }
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

function sizeOf(source: Buffer, base: number): number {
  let size = 1; // the blank line
  const id = textLength(base, ID, ID_SWAP);
  if (id >= 0) size += PREFIX.id.length + id + 1;
  const event = textLength(base, EVENT, EVENT_SWAP);
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

/** Bytes of a type's or id's text, -1 when absent or left out. */
function textLength(base: number, field: number, swapAt: number): number {
  const start = positions[base + field]!;
  if (start < 0) return -1;
  const swap = positions[base + swapAt]!;
  if (swap === LEFT_OUT) return -1;
  return swap >= 0 ? swaps[swap]!.length : positions[base + field + 1]! - start;
}

function writeEvent(out: Buffer, at: number, source: Buffer, base: number): number {
  at = writeText(out, at, source, base, ID, ID_SWAP, PREFIX.id);
  at = writeText(out, at, source, base, EVENT, EVENT_SWAP, PREFIX.event);
  const retryStart = positions[base + RETRY]!;
  if (retryStart >= 0) at = writeField(out, at, PREFIX.retry, source, retryStart, positions[base + RETRY + 1]!);
  const dataStart = positions[base + DATA]!;
  if (dataStart < 0) at = writeField(out, at, PREFIX.data, NULL, 0, NULL.length);
  else if (positions[base + BREAKS] === 0)
    at = writeField(out, at, PREFIX.data, source, dataStart, positions[base + DATA + 1]!);
  else {
    at = put(out, at, PREFIX.data, 0, PREFIX.data.length);
    const dataEnd = positions[base + DATA + 1]!;
    for (let i = dataStart; i < dataEnd; i++) {
      const c = source[i]!;
      if (c !== CR && c !== LF) {
        out[at++] = c;
        continue;
      }
      if (c === CR && source[i + 1] === LF) i++;
      at = put(out, at, PREFIX.nextData, 0, PREFIX.nextData.length);
    }
    out[at++] = LF;
  }
  out[at++] = LF;
  return at;
}

function writeText(
  out: Buffer,
  at: number,
  source: Buffer,
  base: number,
  field: number,
  swapAt: number,
  prefix: Buffer,
): number {
  const start = positions[base + field]!;
  if (start < 0) return at;
  const swap = positions[base + swapAt]!;
  if (swap === LEFT_OUT) return at;
  if (swap >= 0) return writeField(out, at, prefix, swaps[swap]!, 0, swaps[swap]!.length);
  return writeField(out, at, prefix, source, start, positions[base + field + 1]!);
}

function writeField(out: Buffer, at: number, prefix: Buffer, source: Buffer, start: number, end: number): number {
  at = put(out, at, prefix, 0, prefix.length);
  at = put(out, at, source, start, end);
  out[at++] = LF;
  return at;
}

/** Copies bytes: a loop for short runs (most fields), a native copy past 32 bytes, where it gets cheaper. */
function put(out: Buffer, at: number, source: Buffer, start: number, end: number): number {
  if (end - start > 32) return at + source.copy(out, at, start, end);
  for (let i = start; i < end; i++) out[at++] = source[i]!;
  return at;
}

/**
 * Which field the key whose opening quote is at `i` names (`id`, `event`, `retry`, `data`), -1
 * for any other; sets {@link keyEnd} to its closing quote (-1 if it does not close). The four
 * names are matched in place; other keys are read as strings.
 */
function keyField(source: Buffer, i: number, end: number): number {
  const field = isKey(source, i, end, 'data')
    ? DATA
    : isKey(source, i, end, 'event')
      ? EVENT
      : isKey(source, i, end, 'retry')
        ? RETRY
        : isKey(source, i, end, 'id')
          ? ID
          : -1;
  keyEnd = field >= 0 ? i + keyLength(field) + 1 : bytesStringEnd(source, i, end);
  return field;
}

function keyLength(field: number): number {
  return field === DATA ? 4 : field === ID ? 2 : 5;
}

/** True when `"name"` starts at `i`. */
function isKey(source: Buffer, i: number, end: number, name: string): boolean {
  const close = i + name.length + 1;
  if (close >= end || source[close] !== QUOTE) return false;
  for (let k = 0; k < name.length; k++) if (source[i + 1 + k] !== name.charCodeAt(k)) return false;
  return true;
}

function unreadable(source: Buffer, start: number, end: number): UnreadableEventLine {
  const text = utf8.decode(source.subarray(start, Math.min(end, start + 200)));
  return new UnreadableEventLine(`Not an event line: ${text}`);
}
