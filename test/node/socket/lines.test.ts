import { describe, expect, it } from 'vitest';
import { lines } from '../../../bridge/socket/lines.js';
import { collect } from '../helpers/async.js';

/** The lines of a stream that arrives in these chunks. */
function split(chunks: Buffer[]): Promise<string[]> {
  async function* source() {
    yield* chunks;
  }
  return collect(lines(source()));
}

describe('lines', () => {
  it('splits on newlines across chunk boundaries, including inside a UTF-8 character', async () => {
    const bytes = Buffer.from('{"data":"h\u00e9llo"}\n{"data":"\u20ac"}\nInvalidChannelException(\'x\')');
    const at = bytes.indexOf(0xc3) + 1; // between the two bytes of 'é'
    const euro = bytes.indexOf(0xe2) + 2; // inside '€'
    expect(await split([bytes.subarray(0, at), bytes.subarray(at, euro), bytes.subarray(euro)])).toEqual([
      '{"data":"h\u00e9llo"}',
      '{"data":"\u20ac"}',
      "InvalidChannelException('x')",
    ]);
  });

  it('yields nothing for an empty stream and keeps empty lines', async () => {
    expect(await split([])).toEqual([]);
    expect(await split([Buffer.from('a\n\nb\n')])).toEqual(['a', '', 'b']);
  });
});
