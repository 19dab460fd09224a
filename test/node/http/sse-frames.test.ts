import { describe, expect, it } from 'vitest';
import { encodeSseEvents, KEEP_ALIVE, sseEvent } from '../../../bridge/http/sse-frames.js';
import type { LineBatch } from '../../../bridge/relay/backend-call.js';
import { parseEvents } from '../helpers/http.js';

/** A batch of lines, each placed inside a larger buffer as the bridge gets them (offsets, shared sources). */
function batch(...lines: string[]): LineBatch {
  const text = lines.join('\n');
  const source = Buffer.from(`junk\n${text}\nmore`);
  const out: LineBatch = { sources: [], starts: [], ends: [] };
  let at = 5;
  for (const line of lines) {
    const length = Buffer.byteLength(line);
    out.sources.push(source);
    out.starts.push(at);
    out.ends.push(at + length);
    at += length + 1;
  }
  return out;
}

const encode = (...lines: string[]) => {
  const { bytes, unreadable } = encodeSseEvents(batch(...lines));
  expect(unreadable).toBeUndefined();
  return bytes.toString('utf8');
};

describe('event lines as Server-Sent Events', () => {
  it('writes id, event, retry and the data as JSON, one event per line, in order', () => {
    expect(
      encode(
        '{"event":"hello","retry":5,"data":{"n":1},"id":"41"}',
        '{"event":"news","retry":5,"data":"to all","id":"42"}',
      ),
    ).toBe('id: 41\nevent: hello\nretry: 5\ndata: {"n":1}\n\nid: 42\nevent: news\nretry: 5\ndata: "to all"\n\n');
  });

  it("cuts eric-bus's compact lines around the data without reading it, whatever the data holds", () => {
    const datas = [
      { a: 1, id: '5' },
      'ends with ,"id":"x"}',
      '\\',
      '"',
      [{ id: 'q' }],
      null,
      -0.5,
      { event: 'x', retry: 1, data: 2 },
    ];
    const lines = datas.map((data, n) => JSON.stringify({ event: 'e', retry: 5, data, id: `1:${n}` }));
    const events = parseEvents(encode(...lines));
    expect(events.map((e) => JSON.parse(e.data))).toEqual(datas);
    expect(events.map((e) => e.id)).toEqual(datas.map((_, n) => `1:${n}`));
    expect(events.every((e) => e.type === 'e' && e.retry === 5)).toBe(true);
  });

  it('writes no id line for a line without one (eric-sse, or a server without resume)', () => {
    expect(encode('{"event":"hello","retry":5,"data":[1,2]}')).toBe('event: hello\nretry: 5\ndata: [1,2]\n\n');
  });

  it("reads any key order and Python's spacing; nested ids, braces and quotes in strings do not confuse it", () => {
    const line =
      '{"id": "7", "data": {"id": "inner", "s": "}\\"{,\\\\", "a": [{"event": "no"}]}, "retry": 5, "event": "x"}';
    expect(encode(line)).toBe(
      'id: 7\nevent: x\nretry: 5\ndata: {"id": "inner", "s": "}\\"{,\\\\", "a": [{"event": "no"}]}\n\n',
    );
    const [event] = parseEvents(encode(line));
    expect(JSON.parse(event!.data)).toEqual(JSON.parse(line).data);
  });

  it('every kind of data survives the round trip through an EventSource-style parser', () => {
    const values = [
      null,
      true,
      0,
      -1.5e3,
      'text',
      '',
      'two\nlines\r\nand\rcr',
      'h\u00e9llo \u{1f600}',
      [],
      {},
      { a: [1, { b: null }] },
    ];
    const lines = values.map((data, n) => JSON.stringify({ event: 'v', retry: 5, data, id: String(n) }));
    const events = parseEvents(encode(...lines));
    expect(events.map((e) => JSON.parse(e.data))).toEqual(values);
    expect(events.map((e) => e.lastEventId)).toEqual(values.map((_, n) => String(n)));
  });

  it('splits data whose JSON text spans lines into one data: line per line, so it joins back', () => {
    // A server that pretty-prints (here a lone CR, the one line break a line can hold) still parses.
    const line = '{"event":"x","retry":5,"data":{"a":\r1,\r"b":[2,\r3]}}';
    const text = encode(line);
    expect(text).toBe('event: x\nretry: 5\ndata: {"a":\ndata: 1,\ndata: "b":[2,\ndata: 3]}\n\n');
    expect(JSON.parse(parseEvents(text)[0]!.data)).toEqual({ a: 1, b: [2, 3] });
  });

  it('writes null for a line without data, and leaves out a retry that is not a whole number', () => {
    expect(encode('{"event":"bare","retry":5}')).toBe('event: bare\nretry: 5\ndata: null\n\n');
    expect(encode('{"event":"x","retry":"soon","data":1}')).toBe('event: x\ndata: 1\n\n');
    expect(encode('{"event":"x","retry":2.5,"data":1}')).toBe('event: x\ndata: 1\n\n');
    expect(encode('{"data":1}')).toBe('data: 1\n\n');
    expect(parseEvents(encode('{"data":1}'))).toEqual([{ type: 'message', data: '1', lastEventId: '' }]);
  });

  it('decodes escaped types and ids; a type that would break a line stays escaped, such an id is left out', () => {
    expect(encode('{"event":"h\\u00e9llo","retry":5,"data":1,"id":"\\u0034\\u0032"}')).toBe(
      'id: 42\nevent: h\u00e9llo\nretry: 5\ndata: 1\n\n',
    );
    expect(encode('{"event":"two\\nlines","retry":5,"data":1,"id":"a\\nb"}')).toBe(
      'event: two\\nlines\nretry: 5\ndata: 1\n\n',
    );
    expect(encode('{"event":"x","data":1,"id":"nul\\u0000"}')).toBe('event: x\ndata: 1\n\n');
    // A number id is kept as written; any other kind of id is no id.
    expect(encode('{"event":"x","data":1,"id":42}')).toBe('id: 42\nevent: x\ndata: 1\n\n');
    expect(encode('{"event":"x","data":1,"id":null}')).toBe('event: x\ndata: 1\n\n');
  });

  it('copies UTF-8 as it came and handles a batch of many lines', () => {
    const lines = Array.from({ length: 1000 }, (_, n) =>
      JSON.stringify({ event: 'tick', retry: 5, data: { n, text: 'h\u00e9llo'.repeat(n % 7) }, id: String(n) }),
    );
    const events = parseEvents(encode(...lines));
    expect(events).toHaveLength(1000);
    expect(events.map((e) => JSON.parse(e.data).n)).toEqual(lines.map((_, n) => n));
    expect(events[999]).toMatchObject({ type: 'tick', id: '999', retry: 5 });
  });

  it('stops at a line that is not a JSON object: the events before it are kept, the reason given', () => {
    const bads = ['{"event":"x"', '{"event" "x"}', '{"event":"x",}', '{"data":[1,2}', '{} trailing', '{"a":1}}'];
    for (const bad of [...bads, '{"data":oops}', '{"data":nul}', '{"data":truex}', '{"data":1x}']) {
      const { bytes, unreadable } = encodeSseEvents(
        batch('{"event":"ok","data":1}', bad, '{"event":"after","data":2}'),
      );
      expect(bytes.toString(), bad).toBe('event: ok\ndata: 1\n\n');
      expect(unreadable, bad).toMatchObject({ name: 'UnreadableEventLine', code: 'ERR_UNREADABLE_EVENT_LINE' });
      expect(unreadable!.message).toContain(bad);
    }
    expect(encode('{}')).toBe('data: null\n\n');
  });

  it('keep-alive comments and hand-made events follow the same format', () => {
    expect(parseEvents(KEEP_ALIVE.toString())).toEqual([]);
    expect(parseEvents(sseEvent('_eric_error', { error: "X('a\nb')" }).toString())).toEqual([
      { type: '_eric_error', data: '{"error":"X(\'a\\nb\')"}', lastEventId: '' },
    ]);
  });
});
