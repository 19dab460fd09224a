import { describe, expect, it } from 'vitest';
import {
  InvalidListenerException,
  MESSAGE_TYPE_CLOSED,
  Message,
  MessageQueueListener,
  NoMessagesException,
  SSEChannel,
  type SSEEvent,
} from '../../../src/index.js';
import { collect } from '../../node/helpers/async.js';

const types = (events: SSEEvent[]) => events.map((e) => e.event);
const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('AbstractChannel via SSEChannel', () => {
  it('dispatches to one listener and streams adapted events in order', async () => {
    const channel = new SSEChannel({ retryTimeoutMilliseconds: 7 });
    const listener = channel.addListener();
    listener.startSync();
    channel.dispatch(listener.id, new Message('a', { n: 1 }));
    channel.dispatch(listener.id, new Message('b', [1, 2]));
    channel.dispatch(listener.id, new Message('stop-here'));
    const stream = channel.messageStream(listener);
    const first = await stream.next();
    expect(first.value).toEqual({ event: 'a', retry: 7, data: { n: 1 } });
    expect((await stream.next()).value).toEqual({ event: 'b', retry: 7, data: [1, 2] });
    listener.stopSync();
    expect((await stream.next()).done).toBe(true);
    expect(channel.queueLength(listener.id)).toBe(1);
  });

  it('a new listener is not running', async () => {
    const listener = new MessageQueueListener();
    expect(listener.isRunningSync()).toBe(false);
    expect(await listener.isRunning()).toBe(false);
    await listener.start();
    expect(await listener.isRunning()).toBe(true);
  });

  it('deliverNext throws NoMessagesException on an empty queue or a stopped listener', () => {
    const channel = new SSEChannel();
    const listener = channel.addListener();
    channel.dispatch(listener.id, new Message('x'));
    expect(() => channel.deliverNext(listener.id)).toThrow(NoMessagesException);
    listener.startSync();
    const seen: string[] = [];
    listener.onMessage = (m) => void seen.push(m.type);
    expect(channel.deliverNext(listener.id).type).toBe('x');
    expect(seen).toEqual(['x']);
    expect(() => channel.deliverNext(listener.id)).toThrow(NoMessagesException);
  });

  it('unknown listener ids throw InvalidListenerException naming the id', () => {
    const channel = new SSEChannel();
    for (const call of [
      () => channel.dispatch('nope-42', new Message('x')),
      () => channel.deliverNext('nope-42'),
      () => channel.getListener('nope-42'),
      () => channel.removeListener('nope-42'),
      () => channel.queueLength('nope-42'),
    ]) {
      expect(call).toThrow(InvalidListenerException);
      expect(call).toThrow(/nope-42/);
    }
  });

  it('broadcast enqueues the same message object to every listener, no copies', () => {
    const channel = new SSEChannel();
    const listeners = Array.from({ length: 5 }, () => channel.addListener());
    for (const l of listeners) l.startSync();
    const msg = new Message('all', { big: 'x'.repeat(1000) });
    channel.broadcast(msg);
    for (const l of listeners) expect(channel.deliverNext(l.id)).toBe(msg);
  });

  it('messageStream waits without timers and a dispatch wakes it', async () => {
    const channel = new SSEChannel();
    const listener = channel.addListener();
    listener.startSync();
    const stream = channel.messageStream(listener);
    const realSetTimeout = globalThis.setTimeout;
    const realSetInterval = globalThis.setInterval;
    let timers = 0;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      timers++;
      return realSetTimeout(...args);
    }) as typeof setTimeout;
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
      timers++;
      return realSetInterval(...args);
    }) as typeof setInterval;
    let settled = false;
    const pending = stream.next().then((r) => {
      settled = true;
      return r;
    });
    try {
      for (let i = 0; i < 20; i++) await Promise.resolve();
    } finally {
      globalThis.setTimeout = realSetTimeout;
      globalThis.setInterval = realSetInterval;
    }
    expect(timers).toBe(0);
    expect(settled).toBe(false);
    channel.dispatch(listener.id, new Message('wake'));
    expect((await pending).value).toMatchObject({ event: 'wake' });
    await stream.return!();
  });

  it('ends when the listener is stopped while waiting, inside onMessage, or in the loop body', async () => {
    const channel = new SSEChannel();
    const listener = channel.addListener();
    listener.startSync();
    const waiting = collect(channel.messageStream(listener));
    await tick();
    listener.stopSync();
    expect(await waiting).toEqual([]);

    listener.startSync();
    listener.onMessage = (m) => {
      if (m.type === 'halt') listener.stopSync();
    };
    for (const t of ['a', 'halt', 'after']) channel.dispatch(listener.id, new Message(t));
    expect(types(await collect(channel.messageStream(listener)))).toEqual(['a', 'halt']);

    listener.onMessage = () => {};
    listener.startSync();
    channel.dispatch(listener.id, new Message('more'));
    const seen: string[] = [];
    for await (const e of channel.messageStream(listener)) {
      seen.push(e.event);
      if (e.event === 'more') listener.stopSync();
    }
    expect(seen).toEqual(['after', 'more']);
    expect(channel.openStreams).toBe(0);
  });

  it('several sequential streams over one listener (stop, start, stream again)', async () => {
    const channel = new SSEChannel();
    const listener = channel.addListener();
    for (let round = 0; round < 3; round++) {
      listener.startSync();
      channel.dispatch(listener.id, new Message(`r${round}`));
      const stream = channel.messageStream(listener);
      expect((await stream.next()).value?.event).toBe(`r${round}`);
      listener.stopSync();
      expect((await stream.next()).done).toBe(true);
    }
  });

  it('removing a listener while it streams yields one closed event and ends', async () => {
    const channel = new SSEChannel();
    const listener = channel.addListener();
    listener.startSync();
    const events = collect(channel.messageStream(listener));
    await tick();
    channel.removeListener(listener.id);
    expect(types(await events)).toEqual([MESSAGE_TYPE_CLOSED]);
    expect(listener.isRunningSync()).toBe(false);
  });

  it('break and return() release the waiter: 10,000 streams leave nothing behind', async () => {
    const channel = new SSEChannel();
    const listener = channel.addListener();
    listener.startSync();
    for (let i = 0; i < 10_000; i++) {
      channel.dispatch(listener.id, new Message('one'));
      for await (const _ of channel.messageStream(listener)) break;
      const waiting = channel.messageStream(listener);
      const pending = waiting.next();
      await waiting.return!();
      expect((await pending).done).toBe(true);
    }
    expect(channel.openStreams).toBe(0);
    // A dispatch now must not be swallowed by a stale waiter.
    channel.dispatch(listener.id, new Message('kept'));
    expect(channel.queueLength(listener.id)).toBe(1);
  });

  it('watch adds a started listener and removes it when the stream ends', async () => {
    const channel = new SSEChannel();
    const stream = channel.watch();
    const first = stream.next();
    expect(channel.size).toBe(1);
    channel.broadcast(new Message('hi'));
    expect((await first).value?.event).toBe('hi');
    await stream.return!();
    expect(channel.size).toBe(0);
  });

  it('streamDelaySeconds paces delivery', async () => {
    const channel = new SSEChannel({ streamDelaySeconds: 0.02 });
    const listener = channel.addListener();
    listener.startSync();
    for (const t of ['a', 'b', 'c']) channel.dispatch(listener.id, new Message(t));
    const stream = channel.messageStream(listener);
    await stream.next();
    let second = false;
    const next = stream.next().then(() => (second = true));
    await tick();
    expect(second).toBe(false);
    await next;
    expect(second).toBe(true);
    await stream.return!();
  });

  it('a throwing adapt or onMessage rejects next() and ends the stream; the rest stays queued', async () => {
    class Picky extends SSEChannel {
      override adapt(msg: Message) {
        if (msg.type === 'bad') throw new Error('cannot adapt');
        return super.adapt(msg);
      }
    }
    const channel = new Picky();
    const listener = channel.addListener();
    listener.startSync();
    for (const type of ['ok', 'bad', 'later']) channel.dispatch(listener.id, new Message(type));
    const stream = channel.messageStream(listener);
    expect((await stream.next()).value).toMatchObject({ event: 'ok' });
    await expect(stream.next()).rejects.toThrow('cannot adapt');
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(channel.openStreams).toBe(0);
    expect(channel.queueLength(listener.id)).toBe(1);

    listener.onMessage = () => Promise.reject(new Error('handler failed'));
    const again = channel.messageStream(listener);
    await expect(again.next()).rejects.toThrow('handler failed');
    expect(await again.next()).toEqual({ value: undefined, done: true });
    expect(channel.openStreams).toBe(0);
  });

  it('messageBatches yields the waiting messages at once, up to 1024 by default', async () => {
    const channel = new SSEChannel();
    const listener = channel.addListener();
    listener.startSync();
    for (let i = 0; i < 3000; i++) channel.dispatch(listener.id, new Message('m', i));
    const sizes: number[] = [];
    const data: unknown[] = [];
    for await (const batch of channel.messageBatches(listener)) {
      sizes.push(batch.length);
      data.push(...batch.map((e) => e.data));
      if (data.length === 3000) break;
    }
    expect(sizes).toEqual([1024, 1024, 952]);
    expect(data).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });

  it('messageBatches awaits an onMessage that returns a promise, in order, and stops where it stops', async () => {
    const channel = new SSEChannel();
    const listener = channel.addListener();
    listener.startSync();
    const seen: string[] = [];
    listener.onMessage = (m) => {
      seen.push(m.type);
      if (m.type === 'stop') listener.stopSync();
      // Every other message is handled asynchronously.
      if (seen.length % 2 === 0) return new Promise((resolve) => setTimeout(resolve, 1));
    };
    for (const type of ['a', 'b', 'c', 'd', 'stop', 'after']) channel.dispatch(listener.id, new Message(type));
    const batches: string[][] = [];
    for await (const batch of channel.messageBatches(listener)) batches.push(types(batch));
    expect(batches).toEqual([['a', 'b', 'c', 'd', 'stop']]);
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'stop']);
    expect(channel.queueLength(listener.id)).toBe(1);
  });

  it('messageBatches: what arrives while onMessage is awaited joins the batch, which stays as yielded', async () => {
    const channel = new SSEChannel();
    const listener = channel.addListener();
    listener.startSync();
    listener.onMessage = (m) => {
      if (m.type !== 'a') return;
      // Two more arrive while the first message's handler is pending.
      channel.dispatch(listener.id, new Message('b'));
      channel.dispatch(listener.id, new Message('c'));
      return tick();
    };
    channel.dispatch(listener.id, new Message('a'));
    const batches = channel.messageBatches(listener);
    const first = (await batches.next()).value!;
    expect(types(first)).toEqual(['a', 'b', 'c']);
    channel.dispatch(listener.id, new Message('d'));
    const second = (await batches.next()).value!;
    expect(types(second)).toEqual(['d']);
    expect(types(first)).toEqual(['a', 'b', 'c']);
    await batches.return!();
  });

  it('a listener id removed then registered again gets a new, empty queue; in between it is unknown', () => {
    const channel = new SSEChannel();
    const listener = channel.addListener();
    channel.dispatch(listener.id, new Message('old'));
    channel.removeListener(listener.id);
    expect(() => channel.dispatch(listener.id, new Message('lost'))).toThrow(InvalidListenerException);
    channel.registerListener(listener);
    expect(channel.queueLength(listener.id)).toBe(0);
    channel.dispatch(listener.id, new Message('new'));
    listener.startSync();
    expect(channel.deliverNext(listener.id).type).toBe('new');
  });

  it("streams a message of Message's shape that is not a Message instance (a plain object, another copy)", async () => {
    const channel = new SSEChannel();
    const listener = channel.addListener();
    listener.startSync();
    const plain: Message = { type: 'plain', payload: 1 };
    channel.dispatch(listener.id, plain);
    channel.dispatch(listener.id, { ...plain, payload: 2 });
    const stream = channel.messageStream(listener);
    expect((await stream.next()).value).toEqual({ event: 'plain', retry: 5, data: 1 });
    await stream.return!();
    const batches = channel.messageBatches(listener);
    expect((await batches.next()).value).toEqual([{ event: 'plain', retry: 5, data: 2 }]);
    await batches.return!();
  });

  it('messageBatches yields at most maxBatch at once', async () => {
    const channel = new SSEChannel();
    const listener = channel.addListener();
    listener.startSync();
    for (let i = 0; i < 5; i++) channel.dispatch(listener.id, new Message(`m${i}`));
    const batches = channel.messageBatches(listener, 3);
    expect(types((await batches.next()).value!)).toEqual(['m0', 'm1', 'm2']);
    expect(types((await batches.next()).value!)).toEqual(['m3', 'm4']);
    await batches.return!();
  });
});
