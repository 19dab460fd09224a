import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SocketClient } from '../../../bridge/index.js';
import { InvalidChannelException, InvalidListenerException } from '../../../src/index.js';
import { startServer, take } from '../helpers/socket.js';

describe('SocketServer and SocketClient: the verbs', () => {
  let ctx: Awaited<ReturnType<typeof startServer>>;
  let client: SocketClient;
  beforeEach(async () => {
    ctx = await startServer();
    client = new SocketClient(ctx.path);
  });
  afterEach(() => ctx.close());

  it('creates channels and listeners, dispatches and streams them in order', async () => {
    const c = await client.createChannel();
    expect(c).toMatch(/^\d+$/);
    const l = await client.register(c);
    expect(l).toMatch(/^\d+$/);
    expect(await client.dispatch(c, l, 'hello', { n: 1 })).toBe('ack');
    expect(await client.dispatch(c, l, 'bare')).toBe('ack');
    expect(await client.broadcastMessage(c, 'news', 'all')).toBe('ack');
    const lines = await take(client.stream(c, l), 3);
    // Each line carries its id (SPEC §7): the listener and its delivery count.
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      { event: 'hello', retry: 5, data: { n: 1 }, id: `${l}:1` },
      { event: 'bare', retry: 5, data: null, id: `${l}:2` },
      { event: 'news', retry: 5, data: 'all', id: `${l}:3` },
    ]);
  });

  it('watch gets a new listener that hears broadcasts; removing the channel ends it with a closed event', async () => {
    const c = await client.createChannel();
    const seen: unknown[] = [];
    const watching = (async () => {
      for await (const line of client.watch(c)) seen.push(JSON.parse(line));
    })();
    // The watch's listener exists once the server has registered it; broadcast until it hears.
    for (let i = 0; i < 200 && seen.length === 0; i++) {
      await client.broadcastMessage(c, 'ping', i);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(await client.removeChannel(c)).toBe('ack');
    await watching;
    expect(seen.at(-1)).toEqual({ event: '_eric_channel_closed', retry: 5, data: null, id: expect.any(String) });
    expect(ctx.server.channels.size).toBe(0);
  });

  it('removing a listener ends its stream with a closed event', async () => {
    const c = await client.createChannel();
    const l = await client.register(c);
    const stream = client.stream(c, l)[Symbol.asyncIterator]();
    const first = stream.next();
    await client.dispatch(c, l, 'one');
    expect(JSON.parse((await first).value as string).event).toBe('one');
    expect(await client.removeListener(c, l)).toBe('ack');
    expect(JSON.parse((await stream.next()).value as string).event).toBe('_eric_channel_closed');
    expect((await stream.next()).done).toBe(true);
  });

  it('errors come back typed, and the raw reply is eric-sse shaped', async () => {
    await expect(client.register('999')).rejects.toThrow(InvalidChannelException);
    await expect(client.register('999')).rejects.toThrow('No channel with id 999');
    expect(await client.sendRaw({ v: 'r', c: '999' })).toBe("InvalidChannelException('No channel with id 999')");
    const c = await client.createChannel();
    await expect(client.dispatch(c, '424242', 'x')).rejects.toThrow(InvalidListenerException);
    expect(await client.sendRaw({ v: 'rl', c, r: '424242' })).toBe(
      "InvalidListenerException('Invalid listener 424242')",
    );
    await expect(take(client.stream(c, '424242'), 1)).rejects.toThrow(InvalidListenerException);
  });

  it('each server has its own channels', async () => {
    const other = await startServer();
    try {
      const c = await client.createChannel();
      await expect(new SocketClient(other.path).register(c)).rejects.toThrow(InvalidChannelException);
    } finally {
      await other.close();
    }
  });
});
