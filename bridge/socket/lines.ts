/** Splits a byte stream into text lines. */
import { StringDecoder } from 'node:string_decoder';

/**
 * Yields each `\n`-terminated line (without the `\n`) of a stream of byte chunks, decoding
 * UTF-8 across chunk boundaries; a last unterminated piece is yielded too. Pulls the
 * next chunk only when the consumer asks, so a slow consumer slows the sender.
 */
export async function* lines(chunks: AsyncIterable<Buffer>): AsyncGenerator<string, void, undefined> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of chunks) {
    const text = pending + decoder.write(chunk);
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      yield text.slice(start, end);
      start = end + 1;
    }
    pending = text.slice(start);
  }
  pending += decoder.end();
  if (pending !== '') yield pending;
}
