/**
 * The bridge's HTTP face from the test side: plain requests, a parser that reads
 * `text/event-stream` as the HTML standard's EventSource does (ids and `lastEventId` included),
 * and a reader of an event stream as it arrives.
 */
import {
  type ClientRequest,
  request as httpRequestOf,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import { request as httpsRequestOf } from 'node:https';

/** An http: or https: request; `ca` is the certificate an https: one trusts (the tests' self-signed one). */
function request(
  url: string,
  options: { method?: string; headers: Record<string, string>; ca?: string },
  onResponse: (res: IncomingMessage) => void,
): ClientRequest {
  return url.startsWith('https:') ? httpsRequestOf(url, options, onResponse) : httpRequestOf(url, options, onResponse);
}

/** One dispatched event, as an EventSource's `MessageEvent` shows it. */
export interface ReceivedEvent {
  /** `event:`, or `message`. */
  type: string;
  data: string;
  /** The last event id in force when it was dispatched (`MessageEvent.lastEventId`). */
  lastEventId: string;
  /** The id field of this event itself, when it had one. */
  id?: string;
  /** The `retry:` of this event, when it had one. */
  retry?: number;
}

/** An incremental event-stream parser (HTML standard, "interpreting an event stream"). */
export class EventStreamParser {
  readonly events: ReceivedEvent[] = [];
  /** Comment lines (without the colon), in order. */
  readonly comments: string[] = [];
  lastEventId = '';
  #buffer = '';
  #type = '';
  #data: string[] = [];
  #id: string | undefined;
  #retry: number | undefined;
  #decoder = new TextDecoder();

  /** Feeds bytes; returns the events dispatched by them. */
  push(chunk: Uint8Array): ReceivedEvent[] {
    this.#buffer += this.#decoder.decode(chunk, { stream: true });
    const before = this.events.length;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      // A CR at the very end may be the first half of a CRLF: wait for more.
      if (!match || (match[0] === '\r' && match.index === this.#buffer.length - 1)) break;
      const line = this.#buffer.slice(0, match.index);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      this.#line(line);
    }
    return this.events.slice(before);
  }

  #line(line: string): void {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return void this.comments.push(line.slice(1));
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#type = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.#id = this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.#retry = Number(value);
  }

  #dispatch(): void {
    const id = this.#id;
    const retry = this.#retry;
    this.#id = this.#retry = undefined;
    if (this.#data.length === 0) {
      this.#type = '';
      return;
    }
    const event: ReceivedEvent = {
      type: this.#type || 'message',
      data: this.#data.join('\n'),
      lastEventId: this.lastEventId,
    };
    if (id !== undefined) event.id = id;
    if (retry !== undefined) event.retry = retry;
    this.events.push(event);
    this.#type = '';
    this.#data = [];
  }
}

/** Parses a whole event stream. */
export function parseEvents(text: string): ReceivedEvent[] {
  const parser = new EventStreamParser();
  parser.push(new TextEncoder().encode(text));
  parser.push(new TextEncoder().encode('\n'));
  return parser.events;
}

/** An open `GET` of an event stream (or whatever the server answered instead). */
export interface SseResponse {
  status: number;
  headers: IncomingHttpHeaders;
  parser: EventStreamParser;
  /** The body so far, as text. */
  readonly text: string;
  /** Resolves when the server has ended the response (or the connection broke). */
  ended: Promise<void>;
  /** Resolves once `count` events have arrived (rejects if the response ends first). */
  events(count: number): Promise<ReceivedEvent[]>;
  /** Stops reading (TCP backpressure to the server) and starts again. */
  pause(): void;
  resume(): void;
  /** Goes away: destroys the connection. */
  close(): void;
}

/** Opens a GET and resolves once the status and headers are in. */
export function openSse(url: string, headers: Record<string, string> = {}, ca?: string): Promise<SseResponse> {
  return new Promise((resolve, reject) => {
    const options = { headers: { Accept: 'text/event-stream', ...headers }, ...(ca ? { ca } : {}) };
    const req = request(url, options, (res) => {
      const parser = new EventStreamParser();
      let text = '';
      let done = false;
      let wake: (() => void) | undefined;
      const ended = new Promise<void>((resolveEnd) => {
        const finish = () => {
          done = true;
          wake?.();
          resolveEnd();
        };
        res.once('end', finish);
        res.once('close', finish);
      });
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        parser.push(chunk);
        wake?.();
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        parser,
        get text() {
          return text;
        },
        ended,
        async events(count) {
          while (parser.events.length < count) {
            if (done) throw new Error(`the stream ended after ${parser.events.length} of ${count} events`);
            await new Promise<void>((resolveWake) => (wake = resolveWake));
          }
          return parser.events.slice(0, count);
        },
        pause: () => res.pause(),
        resume: () => res.resume(),
        close: () => req.destroy(),
      });
    });
    // Kept for the request's whole life: going away (close) is not an error here.
    req.on('error', reject);
    req.end();
  });
}

/** A whole HTTP exchange: status, headers, and the body as text and (when it is JSON) parsed. */
export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: unknown;
}

/** Sends one request (a string or bytes body as it is, anything else as JSON) and reads the whole reply. */
export function httpRequest(
  method: string,
  url: string,
  { headers = {}, body, ca }: { headers?: Record<string, string>; body?: unknown; ca?: string } = {},
): Promise<HttpReply> {
  const bytes =
    body === undefined
      ? undefined
      : body instanceof Uint8Array
        ? Buffer.from(body)
        : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  // Node sends a DELETE's body without a length unless told: say it, so the connection stays usable.
  const lengths: Record<string, string> = bytes ? { 'Content-Length': String(bytes.length) } : {};
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...lengths, ...headers }, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.once('error', reject);
    req.end(bytes);
  });
}
