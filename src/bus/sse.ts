import { InvalidMessageFormat } from '../errors.js';
import { AbstractChannel, type ChannelOptions } from './channel.js';
import type { Message } from './message.js';

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

/** Options of an {@link SSEChannel}. */
export interface SSEChannelOptions<D> extends ChannelOptions {
  /** Reconnection time advertised in each event, in milliseconds (eric-sse's default: 5). */
  retryTimeoutMilliseconds?: number;
  /** Maps a message payload to the event's `data`; identity by default. */
  payloadAdapter?: (payload: unknown) => D;
}

/** The default channel: messages become `{ event, retry, data }` events. */
export class SSEChannel<D = unknown> extends AbstractChannel<SSEEvent<D>> {
  readonly retryTimeoutMilliseconds: number;
  readonly #payloadAdapter: (payload: unknown) => D;

  constructor({ retryTimeoutMilliseconds = 5, payloadAdapter, ...options }: SSEChannelOptions<D> = {}) {
    super(options);
    this.retryTimeoutMilliseconds = retryTimeoutMilliseconds;
    this.#payloadAdapter = payloadAdapter ?? ((payload) => payload as D);
  }

  adapt(msg: Message): SSEEvent<D> {
    return { event: msg.type, retry: this.retryTimeoutMilliseconds, data: this.#payloadAdapter(msg.payload) };
  }
}

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * The text/event-stream form of an event (HTML standard, "event stream format"):
 * `event:`, `retry:` and one `data:` line per line of data, then a blank line.
 * Non-string data is JSON-encoded.
 */
export function toEventStream(event: SSEEvent): string {
  if (LINE_BREAK.test(event.event))
    throw new InvalidMessageFormat(`Event type contains a line break: ${JSON.stringify(event.event)}`);
  const data = typeof event.data === 'string' ? event.data : (JSON.stringify(event.data) ?? '');
  let text = `event: ${event.event}\n`;
  if (Number.isInteger(event.retry) && event.retry >= 0) text += `retry: ${event.retry}\n`;
  for (const line of data.split(LINE_BREAK)) text += `data: ${line}\n`;
  return text + '\n';
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
