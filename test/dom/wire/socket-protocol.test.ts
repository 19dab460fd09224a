import { describe, expect, it } from 'vitest';
import type { SSEEvent } from '../../../src/index.js';
import { formatEvent, parseCommand } from '../../../src/wire/socket-protocol.js';

describe('formatEvent: one stream line', () => {
  const events: SSEEvent[] = [
    { event: 'hello', retry: 5, data: { n: 1, nested: [true, null, 'h\u00e9llo \u2028'] } },
    { event: 'quote"and\\backslash\nnewline', retry: 0, data: 'text with "quotes"' },
    { event: 'bare', retry: 5, data: undefined },
    { event: 'n', retry: 1.5, data: 0.25 },
  ];

  it('is the event as JSON, members in order, newline-terminated; a missing payload is null', () => {
    for (const event of events) {
      expect(formatEvent(event)).toBe(`${JSON.stringify({ ...event, data: event.data ?? null })}\n`);
      expect(JSON.parse(formatEvent(event))).toEqual({ ...event, data: event.data ?? null });
    }
  });

  it('carries the id last when given, escaped as JSON', () => {
    for (const id of ['4:17', 'a"b\\c:1'])
      expect(formatEvent(events[0]!, id)).toBe(`${JSON.stringify({ ...events[0], id })}\n`);
  });

  it('writes JSON whatever it is given: no text for a payload, or a retry that is not a number, is null', () => {
    expect(JSON.parse(formatEvent({ event: 'f', retry: Number.NaN, data: () => 1 }))).toEqual({
      event: 'f',
      retry: null,
      data: null,
    });
  });
});

describe('parseCommand: the last event id', () => {
  it("reads 'i' on l and w, leaves it out when absent, and refuses one that is not a string", () => {
    expect(parseCommand('{"v":"l","c":"1","r":"2","i":"2:5"}')).toEqual({ v: 'l', c: '1', r: '2', i: '2:5' });
    expect(parseCommand('{"v":"w","c":"1","i":"3:0"}')).toEqual({ v: 'w', c: '1', i: '3:0' });
    expect(parseCommand('{"v":"w","c":"1"}')).toEqual({ v: 'w', c: '1' });
    // Other verbs take no notice of it, as eric-sse's server takes none of unknown keys.
    expect(parseCommand('{"v":"r","c":"1","i":"x"}')).toEqual({ v: 'r', c: '1' });
    expect(() => parseCommand('{"v":"l","c":"1","r":"2","i":7}')).toThrow("Last event id 'i' must be a string, not 7");
  });
});
