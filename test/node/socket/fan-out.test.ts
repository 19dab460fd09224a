import { describe, expect, it, vi } from 'vitest';
import { lineOf, unscheduleWrite, writeWhenWoken } from '../../../bridge/socket/fan-out.js';
import { Message, SSEChannel } from '../../../src/index.js';
import { formatEvent } from '../../../src/wire/socket-protocol.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A turn in which one stream alone is woken: whatever fan-out came before is over. */
async function quietTurn(): Promise<void> {
  writeWhenWoken(() => {}, -Infinity);
  await nextTurn();
}

describe('lineOf', () => {
  const messages = [
    new Message('plain', { n: 1, text: 'héllo "quoted"\nline' }),
    new Message('bare'),
    new Message('list', [1, null, 'x']),
  ];

  it.each([1, 3])('writes what formatEvent writes, with and without an id (%i listeners)', (listeners) => {
    const channel = new SSEChannel({ retryTimeoutMilliseconds: 42 });
    for (let i = 0; i < listeners; i++) channel.addListener();
    for (const msg of messages) {
      for (const id of [undefined, '7:1', 'odd "id":2']) {
        expect(lineOf(channel, msg, id)).toBe(formatEvent(channel.adapt(msg), id));
      }
    }
  });

  it("adapts a broadcast once for all its listeners, each line with its listener's id", () => {
    const channel = new SSEChannel();
    const listeners = Array.from({ length: 50 }, () => channel.addListener());
    const adapt = vi.spyOn(channel, 'adapt');
    const msg = new Message('news', { n: 1 });
    const lines = listeners.map((l) => lineOf(channel, msg, `${l.id}:1`));
    expect(adapt).toHaveBeenCalledTimes(1);
    expect(lines.map((line) => JSON.parse(line))).toEqual(
      listeners.map((l) => ({ event: 'news', retry: 5, data: { n: 1 }, id: `${l.id}:1` })),
    );
  });
});

describe('writeWhenWoken', () => {
  it('writes a stream woken alone once the turn is over, even right after its last write', async () => {
    await quietTurn();
    const written: string[] = [];
    writeWhenWoken(() => written.push('alone'), performance.now());
    expect(written).toEqual([]);
    await nextTurn();
    expect(written).toEqual(['alone']);
  });

  it('in a fan-out, holds back streams that wrote just now, writes the others at once, and loses none', async () => {
    const written: string[] = [];
    const now = performance.now();
    // One message wakes four streams: two wrote a moment ago, two long ago.
    writeWhenWoken(() => written.push('idle-1'), -Infinity);
    writeWhenWoken(() => written.push('busy-1'), now);
    writeWhenWoken(() => written.push('busy-2'), now);
    writeWhenWoken(() => written.push('idle-2'), -Infinity);
    await nextTurn();
    expect(written).toEqual(['idle-1', 'idle-2']);
    await vi.waitFor(() => expect(written).toHaveLength(4));
    expect(written.slice(2).sort()).toEqual(['busy-1', 'busy-2']);
  });

  it('forgets a held-back stream that has ended', async () => {
    const written: string[] = [];
    const now = performance.now();
    const ended = () => written.push('ended');
    writeWhenWoken(() => written.push('first'), -Infinity);
    writeWhenWoken(ended, now);
    writeWhenWoken(() => written.push('held'), now);
    unscheduleWrite(ended);
    // Held-back streams are written together: once one is, the forgotten one would have been too.
    await vi.waitFor(() => expect(written).toContain('held'));
    expect(written.sort()).toEqual(['first', 'held']);
  });
});
