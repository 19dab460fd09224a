import { describe, expect, it } from 'vitest';
import { InvalidMessageFormat, MAX_JSON_DEPTH } from '../../../src/index.js';
import { parseClientFrame } from '../../../src/wire/bridge-frames.js';
import { nestsDeeperThan } from '../../../src/wire/json-depth.js';
import { valueEnd } from '../../../src/wire/json-scan.js';
import { parseCommand } from '../../../src/wire/socket-protocol.js';

const nested = (depth: number, inner = '') => '['.repeat(depth) + inner + ']'.repeat(depth);

describe('nestsDeeperThan', () => {
  it('counts arrays and objects, not the brackets inside strings', () => {
    expect(nestsDeeperThan(nested(3), 3)).toBe(false);
    expect(nestsDeeperThan(nested(4), 3)).toBe(true);
    expect(nestsDeeperThan('{"a":{"b":[1,{"c":2}]}}', 4)).toBe(false);
    expect(nestsDeeperThan('{"a":{"b":[1,{"c":2}]}}', 3)).toBe(true);
    expect(nestsDeeperThan(`{"p":"${'['.repeat(5000)}"}`, 1)).toBe(false);
    // Escaped quotes do not end a string; an escaped backslash before a quote does not escape it.
    expect(nestsDeeperThan(`["\\"[[[", "\\\\", [1]]`, 2)).toBe(false);
    expect(nestsDeeperThan(`["\\\\", [[1]]]`, 2)).toBe(true);
  });

  it('stops at the first level too deep: a text far deeper costs no more than the limit', () => {
    expect(nestsDeeperThan(nested(500_000), MAX_JSON_DEPTH)).toBe(true);
    expect(MAX_JSON_DEPTH).toBe(1000);
  });

  it('valueEnd skips a value whole, however deep', () => {
    const text = `{"p":${nested(3000)},"id":7}`;
    const start = text.indexOf('[');
    expect(text.slice(valueEnd(text, start))).toBe(',"id":7}');
    expect(valueEnd('"a\\"b",1', 0)).toBe(6);
    expect(valueEnd('12,3', 0)).toBe(2);
  });
});

describe('refused at the door: commands and frames deeper than the limit', () => {
  it('parseCommand refuses a command nesting deeper than 1,000 levels, before parsing it', () => {
    const ok = `{"v":"b","c":"1","t":"x","p":${nested(MAX_JSON_DEPTH - 1)}}`;
    expect(parseCommand(ok)).toMatchObject({ v: 'b', c: '1', t: 'x' });
    const deep = `{"v":"b","c":"1","t":"x","p":${nested(MAX_JSON_DEPTH)}}`;
    expect(() => parseCommand(deep)).toThrow(InvalidMessageFormat);
    expect(() => parseCommand(deep)).toThrow('Command nests deeper than 1000 levels of arrays and objects');
    // Malformed after the deep part: the depth is what is reported, so JSON.parse never ran.
    expect(() => parseCommand(`{"v":"b","p":${'['.repeat(500_000)}!`)).toThrow('nests deeper than 1000');
  });

  it('parseClientFrame refuses a deep frame with its id, wherever the id is', () => {
    const deep = nested(5000);
    const error = "InvalidMessageFormat('Frame nests deeper than 1000 levels of arrays and objects')";
    expect(parseClientFrame(`{"id":7,"v":"b","c":"1","t":"x","p":${deep}}`)).toEqual({
      kind: 'invalid',
      id: 7,
      error,
    });
    expect(parseClientFrame(`{ "v" : "b", "p" : ${deep} , "id" : "late" }`)).toEqual({
      kind: 'invalid',
      id: 'late',
      error,
    });
    expect(parseClientFrame(`{"p":${deep}}`)).toEqual({ kind: 'invalid', id: null, error });
    expect(parseClientFrame(`{"id":[1],"p":${deep}}`)).toEqual({ kind: 'invalid', id: null, error });
  });
});

describe('stream keys and rs', () => {
  it('l and w may carry a stream key; rs names one key or several', () => {
    expect(parseCommand('{"v":"w","c":"1","s":"k1"}')).toEqual({ v: 'w', c: '1', s: 'k1' });
    expect(parseCommand('{"v":"l","c":"1","r":"2","s":"k2"}')).toEqual({ v: 'l', c: '1', r: '2', s: 'k2' });
    expect(parseCommand('{"v":"rs","s":"k1"}')).toEqual({ v: 'rs', s: ['k1'] });
    expect(parseCommand('{"v":"rs","s":["a","b"]}')).toEqual({ v: 'rs', s: ['a', 'b'] });
    for (const bad of ['{"v":"rs"}', '{"v":"rs","s":[]}', '{"v":"rs","s":[1]}', '{"v":"w","c":"1","s":5}'])
      expect(() => parseCommand(bad), bad).toThrow(InvalidMessageFormat);
    expect(() => parseCommand(`{"v":"w","c":"1","s":"${'k'.repeat(129)}"}`)).toThrow(InvalidMessageFormat);
  });

  it('a frame cannot carry rs or a stream key through the bridge', () => {
    expect(parseClientFrame('{"id":1,"v":"rs","s":"k"}')).toMatchObject({ kind: 'invalid', id: 1 });
    expect(parseClientFrame('{"id":1,"v":"w","c":"1","s":"k"}')).toEqual({
      kind: 'command',
      id: 1,
      verb: 'w',
      command: { v: 'w', c: '1' },
    });
  });
});

describe('stream credit frames', () => {
  it('a stream frame may carry its window; a credit frame grants more', () => {
    expect(parseClientFrame('{"id":1,"v":"w","c":"1","credit":256}')).toEqual({
      kind: 'command',
      id: 1,
      verb: 'w',
      command: { v: 'w', c: '1' },
      credit: 256,
    });
    expect(parseClientFrame('{"id":1,"v":"credit","credit":128}')).toEqual({ kind: 'credit', id: 1, credit: 128 });
    for (const bad of ['{"id":1,"v":"credit"}', '{"id":1,"v":"credit","credit":-1}', '{"id":1,"v":"w","credit":1.5}'])
      expect(parseClientFrame(bad), bad).toMatchObject({ kind: 'invalid', id: 1 });
  });
});
