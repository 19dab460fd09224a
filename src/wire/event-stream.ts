/**
 * Server-Sent Events: the event's shape as eric-sse gives it, and the `text/event-stream` format
 * (HTML standard, "event stream format"), written here once. The bridge's byte-level fast path
 * (`bridge/http/sse-frames.ts`) takes its field names and layout from this module.
 */
import { InvalidMessageFormat } from '../errors.js';

/** One server-sent event as eric-sse shapes it. */
export interface SSEEvent<D = unknown> {
  event: string;
  retry: number;
  data: D;
  /**
   * The id an eric-bus socket server gave the event, to resume after it; in-page channels give none
   * (docs/protocol.md, "Event ids, histories and resume").
   */
  id?: string;
}

/**
 * How each line of an event starts, in the order an event writes them: `id:` (when it has one),
 * `event:`, `retry:` (when it is a whole number), then one `data:` line per line of its data. A
 * blank line ends the event.
 */
export const EVENT_STREAM_FIELD = { id: 'id: ', event: 'event: ', retry: 'retry: ', data: 'data: ' } as const;

/** A comment line that keeps an idle stream open (EventSource ignores it). */
export const EVENT_STREAM_KEEP_ALIVE = ': keep-alive\n\n';

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * One event's text, laid out as {@link EVENT_STREAM_FIELD} says: `retry` is written when it is a
 * whole number, `id` when given, and each line of `data` (CR, LF or CRLF) starts a `data:` line.
 * The type and the id must hold no line break.
 */
export function eventStreamText(event: string, data: string, retry?: number, id?: string): string {
  let text = id === undefined ? '' : `${EVENT_STREAM_FIELD.id}${id}\n`;
  text += `${EVENT_STREAM_FIELD.event}${event}\n`;
  if (retry !== undefined && Number.isInteger(retry) && retry >= 0) text += `${EVENT_STREAM_FIELD.retry}${retry}\n`;
  for (const line of data.split(LINE_BREAK)) text += `${EVENT_STREAM_FIELD.data}${line}\n`;
  return `${text}\n`;
}

/**
 * The text/event-stream form of an event (HTML standard, "event stream format"):
 * `event:`, `retry:` and one `data:` line per line of data, then a blank line.
 * Non-string data is JSON-encoded.
 */
export function toEventStream(event: SSEEvent): string {
  if (LINE_BREAK.test(event.event))
    throw new InvalidMessageFormat(`Event type contains a line break: ${JSON.stringify(event.event)}`);
  const data = typeof event.data === 'string' ? event.data : (JSON.stringify(event.data) ?? '');
  return eventStreamText(event.event, data, event.retry);
}

/**
 * Parses a text/event-stream as a browser's EventSource would, returning each dispatched
 * event (data left as text; `event` defaults to "message").
 */
export function parseEventStream(text: string): SSEEvent<string>[] {
  const events: SSEEvent<string>[] = [];
  let type = '';
  let data: string[] = [];
  let retry = NaN;
  for (const line of text.replace(/^\uFEFF/, '').split(LINE_BREAK)) {
    if (line === '') {
      if (data.length > 0) events.push({ event: type || 'message', retry, data: data.join('\n') });
      type = '';
      data = [];
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
  }
  return events;
}
