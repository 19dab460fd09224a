import { describe, expect, it, vi } from 'vitest';
import { lineOf, shareLine, unscheduleWrite, writeWhenWoken } from '../../../bridge/store/fan-out.js';
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

  it.each([
    [1, false],
    [3, false],
    [3, true],
  ])('writes what formatEvent writes, with and without an id (%i listeners, shared: %s)', (listeners, shared) => {
    const channel = new SSEChannel({ retryTimeoutMilliseconds: 42 });
    for (let i = 0; i < listeners; i++) channel.addListener();
    for (const msg of messages) {
      if (shared) shareLine(channel, msg);
      for (const id of [undefined, '7:1', 'odd "id":2']) {
        expect(lineOf(channel, msg, id)).toBe(formatEvent(channel.adapt(msg), id));
      }
    }
  });

  it("adapts a shared broadcast once for all its listeners, each line with its listener's id", () => {
    const channel = new SSEChannel();
    const listeners = Array.from({ length: 50 }, () => channel.addListener());
    const adapt = vi.spyOn(channel, 'adapt');
    const msg = new Message('news', { n: 1 });
    shareLine(channel, msg);
    const lines = listeners.map((l) => lineOf(channel, msg, `${l.id}:1`));
    expect(adapt).toHaveBeenCalledTimes(1);
    expect(lines.map((line) => JSON.parse(line))).toEqual(
      listeners.map((l) => ({ event: 'news', retry: 5, data: { n: 1 }, id: `${l.id}:1` })),
    );
    // A message that is not a shared broadcast is not remembered: each stream makes its own line.
    const single = new Message('one');
    lineOf(channel, single, '1:1');
    lineOf(channel, single, '1:1');
    expect(adapt).toHaveBeenCalledTimes(3);
  });

  it("gives one message shared on two channels each channel's own adaptation", () => {
    const plain = new SSEChannel();
    const wrapped = new SSEChannel({ retryTimeoutMilliseconds: 100, payloadAdapter: (p) => ({ wrapped: p }) });
    for (const channel of [plain, wrapped]) for (let i = 0; i < 2; i++) channel.addListener();
    const msg = new Message('both', { n: 1 });
    shareLine(plain, msg);
    shareLine(wrapped, msg);
    expect(JSON.parse(lineOf(plain, msg, 'a:1'))).toEqual({ event: 'both', retry: 5, data: { n: 1 }, id: 'a:1' });
    expect(JSON.parse(lineOf(wrapped, msg, 'b:1'))).toEqual({
      event: 'both',
      retry: 100,
      data: { wrapped: { n: 1 } },
      id: 'b:1',
    });
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
