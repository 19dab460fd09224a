import { describe, expect, it } from 'vitest';
import { lines } from '../../../bridge/socket/lines.js';

async function collect(chunks: Buffer[]): Promise<string[]> {
  async function* source() {
    yield* chunks;
  }
  const out: string[] = [];
  for await (const line of lines(source())) out.push(line);
  return out;
}

describe('lines', () => {
  it('splits on newlines across chunk boundaries, including inside a UTF-8 character', async () => {
    const bytes = Buffer.from('{"data":"h\u00e9llo"}\n{"data":"\u20ac"}\nInvalidChannelException(\'x\')');
    const at = bytes.indexOf(0xc3) + 1; // between the two bytes of 'é'
    const euro = bytes.indexOf(0xe2) + 2; // inside '€'
    expect(await collect([bytes.subarray(0, at), bytes.subarray(at, euro), bytes.subarray(euro)])).toEqual([
      '{"data":"h\u00e9llo"}',
      '{"data":"\u20ac"}',
      "InvalidChannelException('x')",
    ]);
  });

  it('yields nothing for an empty stream and keeps empty lines', async () => {
    expect(await collect([])).toEqual([]);
    expect(await collect([Buffer.from('a\n\nb\n')])).toEqual(['a', '', 'b']);
  });
});
