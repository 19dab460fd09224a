// Our SocketServer where it goes beyond eric-sse 0.6.1's; the scenarios both servers share, bad input
// included, run against each in conformance.test.ts.
import { describe, expect } from 'vitest';
import { SocketClient } from '../../../bridge/index.js';
import { InvalidChannelException } from '../../../src/index.js';
import { collect, pokeUntil } from '../helpers/async.js';
import { it } from '../helpers/fixtures.js';

describe('SocketServer: streams that end', () => {
  // eric-sse's watch keeps polling the channel object it holds, so removing the channel does not end it.
  it('removing the channel ends a watch with a closed event', async ({ client, server }) => {
    const c = await client.createChannel();
    const stream = client.watch(c)[Symbol.asyncIterator]();
    const first = await pokeUntil(stream.next(), (i) => client.broadcastMessage(c, 'ping', i), 'the watch to hear');
    expect(JSON.parse(first.value as string)).toMatchObject({ event: 'ping' });
    expect(await client.removeChannel(c)).toBe('ack');
    const rest = (await collect(stream)).map((line) => JSON.parse(line));
    expect(rest.at(-1)).toEqual({ event: '_eric_channel_closed', retry: 5, data: null, id: expect.any(String) });
    expect(server.channels.size).toBe(0);
  });

  // eric-sse's 'l' cannot start a listener, so its streams end at once.
  it('removing a listener ends its stream with a closed event', async ({ client, registered: { c, l } }) => {
    const stream = client.stream(c, l)[Symbol.asyncIterator]();
    const first = stream.next();
    await client.dispatch(c, l, 'one');
    expect(JSON.parse((await first).value as string).event).toBe('one');
    expect(await client.removeListener(c, l)).toBe('ack');
    expect(JSON.parse((await stream.next()).value as string).event).toBe('_eric_channel_closed');
    expect((await stream.next()).done).toBe(true);
  });
});

describe('SocketServer: instances', () => {
  it('each server has its own channels', async ({ client, startServer }) => {
    const other = await startServer();
    const c = await client.createChannel();
    await expect(new SocketClient(other.path).register(c)).rejects.toThrow(InvalidChannelException);
  });
});
