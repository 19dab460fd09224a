import { describe, expect, it } from 'vitest';
import { InvalidListenerException, Message, SSEChannel } from '../../../src/index.js';

describe('AbstractChannel.whenMessageWaits', () => {
  it('wakes once at the next dispatch, and at once when a message already waits', () => {
    const channel = new SSEChannel();
    const listener = channel.addListener();
    listener.startSync();
    let woken = 0;
    channel.whenMessageWaits(listener.id, () => woken++);
    expect(woken).toBe(0);
    channel.dispatch(listener.id, new Message('a'));
    channel.dispatch(listener.id, new Message('b'));
    expect(woken).toBe(1);
    channel.whenMessageWaits(listener.id, () => woken++);
    expect(woken).toBe(2);
  });

  it('wakes when the listener stops or is removed, and not after being cancelled', () => {
    const channel = new SSEChannel();
    const stopped = channel.addListener();
    const removed = channel.addListener();
    const cancelled = channel.addListener();
    for (const l of [stopped, removed, cancelled]) l.startSync();
    const woken: string[] = [];
    channel.whenMessageWaits(stopped.id, () => woken.push('stopped'));
    channel.whenMessageWaits(removed.id, () => woken.push('removed'));
    const cancel = channel.whenMessageWaits(cancelled.id, () => woken.push('cancelled'));
    cancel();
    stopped.stopSync();
    channel.removeListener(removed.id);
    channel.dispatch(cancelled.id, new Message('x'));
    channel.dispatch(stopped.id, new Message('y'));
    expect(woken).toEqual(['stopped', 'removed']);
  });

  it('wakes at once for a listener that is not running, and throws for an unknown one', () => {
    const channel = new SSEChannel();
    const idle = channel.addListener();
    let woken = false;
    channel.whenMessageWaits(idle.id, () => (woken = true));
    expect(woken).toBe(true);
    expect(() => channel.whenMessageWaits('nope', () => {})).toThrow(InvalidListenerException);
  });

  it('hasListener tells whether that very listener is registered', () => {
    const channel = new SSEChannel();
    const listener = channel.addListener();
    expect(channel.hasListener(listener)).toBe(true);
    channel.removeListener(listener.id);
    expect(channel.hasListener(listener)).toBe(false);
  });
});

describe('AbstractChannel.requeue', () => {
  it('puts taken messages back at the head, in order, and wakes a waiting stream', async () => {
    const channel = new SSEChannel();
    const listener = channel.addListener();
    listener.startSync();
    for (const type of ['a', 'b', 'c']) channel.dispatch(listener.id, new Message(type));
    const taken = [channel.deliverNext(listener.id), channel.deliverNext(listener.id)];
    expect(channel.requeue(listener.id, taken)).toBe(true);
    expect(channel.queueLength(listener.id)).toBe(3);
    const stream = channel.messageStream(listener);
    const types: string[] = [];
    for (let i = 0; i < 3; i++) types.push(((await stream.next()).value as { event: string }).event);
    expect(types).toEqual(['a', 'b', 'c']);
    const waiting = stream.next();
    channel.requeue(listener.id, [new Message('back')]);
    expect(((await waiting).value as { event: string }).event).toBe('back');
    await stream.return?.();
  });

  it('reports false for a queue that cannot take messages back', () => {
    const channel = new SSEChannel({
      queues: <T>() => {
        const items: T[] = [];
        return {
          push: (x: T) => void items.push(x),
          take: () => items.shift(),
          get length() {
            return items.length;
          },
          waitForMore: () => () => {},
        };
      },
    });
    const listener = channel.addListener();
    expect(channel.requeue(listener.id, [new Message('x')])).toBe(false);
  });
});
