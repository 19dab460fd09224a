/** Splits a byte stream into text lines. */
import { StringDecoder } from 'node:string_decoder';

/**
 * Splits byte chunks, as they come, into `\n`-terminated lines (without the `\n`), decoding UTF-8
 * across chunk boundaries: what follows the last newline waits for the next chunk.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';

  /** The lines that `chunk` completes, in order. */
  push(chunk: Buffer): string[] {
    const text = this.#pending + this.#decoder.write(chunk);
    const out: string[] = [];
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      out.push(text.slice(start, end));
      start = end + 1;
    }
    this.#pending = text.slice(start);
    return out;
  }

  /** What is left after the last newline once the stream has ended ('' when nothing). */
  end(): string {
    const rest = this.#pending + this.#decoder.end();
    this.#pending = '';
    return rest;
  }
}

/**
 * Yields each `\n`-terminated line (without the `\n`) of a stream of byte chunks, decoding
 * UTF-8 across chunk boundaries; a last unterminated piece is yielded too. Pulls the
 * next chunk only when the consumer asks, so a slow consumer slows the sender.
 */
export async function* lines(chunks: AsyncIterable<Buffer>): AsyncGenerator<string, void, undefined> {
  const splitter = new LineSplitter();
  for await (const chunk of chunks) yield* splitter.push(chunk);
  const rest = splitter.end();
  if (rest !== '') yield rest;
}
