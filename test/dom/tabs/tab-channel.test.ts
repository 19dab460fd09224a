// TabChannel where the browser has no Web Locks (happy-dom on Node 20): a channel of this tab alone,
// with the tab-wide API. Across tabs: test/browser/tabs.test.ts.
import { describe, expect, it } from 'vitest';
import { InvalidListenerException, Message, TabChannel } from '../../../src/index.js';
import { take } from '../../node/helpers/async.js';

describe('TabChannel in one tab', () => {
  it('dispatches, broadcasts and streams as an SSEChannel, its promises settled in this tab', async () => {
    const channel = new TabChannel('solo');
    await channel.whenReady();
    expect(channel.id).toBe('solo');
    const [first, second] = [channel.addListener(), channel.addListener()];
    expect(first.id).not.toBe(second.id);
    expect(channel.listenerIds()).toEqual([first.id, second.id]);
    await first.start();
    await channel.dispatch(first.id, new Message('hello', { n: 1 }));
    await channel.broadcast(new Message('news', 'all'));
    expect(channel.queueLength(second.id)).toBe(1);
    expect(await take(channel.messageStream(first), 2)).toEqual([
      { event: 'hello', retry: 5, data: { n: 1 } },
      { event: 'news', retry: 5, data: 'all' },
    ]);
    await expect(channel.dispatch('nobody', new Message('x'))).rejects.toBeInstanceOf(InvalidListenerException);
    channel.close();
    expect(channel.listenerIds()).toEqual([]);
  });

  it('watch adds a listener for the stream and removes it when the stream ends', async () => {
    const channel = new TabChannel('watched');
    const stream = channel.watch();
    expect(channel.listenerIds()).toHaveLength(1);
    const [id] = channel.listenerIds() as [string];
    await channel.dispatch(id, new Message('one'));
    expect((await stream.next()).value).toMatchObject({ event: 'one' });
    await stream.return?.();
    expect(channel.listenerIds()).toEqual([]);
    await expect(channel.dispatch(id, new Message('late'))).rejects.toBeInstanceOf(InvalidListenerException);
  });
});
