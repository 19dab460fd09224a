import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  InvalidListenerException,
  InvalidMessageFormat,
  MESSAGE_TYPE_CLOSED,
  Message,
  MessageQueueListener,
  SignedMessage,
  SimpleDistributedApplicationListener,
  SSEChannel,
  type SSEEvent,
} from '../../../src/index.js';

async function eventTypes(stream: AsyncIterable<SSEEvent>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of stream) out.push(e.event);
  return out;
}

describe('SimpleDistributedApplicationListener', () => {
  afterEach(() => vi.restoreAllMocks());

  // The seed's dispatch_to takes the receiving listener; its id works too.
  it.each([
    ['the listener', (l: SimpleDistributedApplicationListener) => l],
    ['its id', (l: SimpleDistributedApplicationListener) => l.id],
  ])("plays the seed's alice/bob hello scenario, addressing alice by %s", async (_, receiver) => {
    const channel = new SSEChannel();
    const alice = new SimpleDistributedApplicationListener(channel);
    const bob = new SimpleDistributedApplicationListener(channel);
    alice.setAction('hello', () => [new Message('hello_ack'), new Message('stop')]);
    bob.setAction('hello_ack', () => [new Message('stop')]);
    await alice.start();
    await bob.start();
    bob.dispatchTo(receiver(alice), new Message('hello', 'hi alice'));
    const [a, b] = await Promise.all([
      eventTypes(channel.messageStream(alice)),
      eventTypes(channel.messageStream(bob)),
    ]);
    expect(a).toEqual(['hello', 'stop']);
    expect(b).toEqual(['hello_ack', 'stop']);
  });

  it('runs async actions and signs replies with its own id', async () => {
    const channel = new SSEChannel();
    const server = new SimpleDistributedApplicationListener(channel);
    const client = channel.addListener();
    server.setAction('sum', async (msg) => {
      await new Promise((r) => setTimeout(r, 1));
      const { payload } = msg.payload as { payload: number[] };
      return [
        new Message(
          'total',
          payload.reduce((x, y) => x + y, 0),
        ),
      ];
    });
    server.startSync();
    client.startSync();
    channel.dispatch(server.id, new SignedMessage(client.id, 'sum', [1, 2, 3]));
    const first = await channel.messageStream(server).next();
    expect(first.value).toMatchObject({ event: 'sum', data: { sender_id: client.id, payload: [1, 2, 3] } });
    const reply = await channel.messageStream(client).next();
    expect(reply.value).toEqual({ event: 'total', retry: 5, data: { sender_id: server.id, payload: 6 } });
  });

  it('dispatchTo a listener the channel does not have throws InvalidListenerException, as an unknown id does', () => {
    const bob = new SimpleDistributedApplicationListener(new SSEChannel());
    const stranger = new MessageQueueListener('nobody');
    expect(() => bob.dispatchTo(stranger, new Message('hello'))).toThrow(InvalidListenerException);
    expect(() => bob.dispatchTo('nobody', new Message('hello'))).toThrow(InvalidListenerException);
  });

  it('reserved actions cannot be overridden', () => {
    const listener = new SimpleDistributedApplicationListener(new SSEChannel());
    expect(() => listener.setAction('stop', () => [])).toThrow(InvalidMessageFormat);
    expect(() => listener.setAction('remove', () => [])).toThrow(/reserved/);
  });

  it("'remove' stops the listener and removes it from the channel", async () => {
    const channel = new SSEChannel();
    const listener = new SimpleDistributedApplicationListener(channel);
    listener.startSync();
    channel.dispatch(listener.id, new Message('remove'));
    expect(await eventTypes(channel.messageStream(listener))).toEqual(['remove', MESSAGE_TYPE_CLOSED]);
    expect(listener.isRunningSync()).toBe(false);
    expect(channel.size).toBe(0);
  });

  it('an unknown type is logged and ignored, never thrown', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const channel = new SSEChannel();
    const listener = new SimpleDistributedApplicationListener(channel);
    listener.startSync();
    channel.dispatch(listener.id, new Message('what'));
    expect(() => channel.deliverNext(listener.id)).not.toThrow();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("'what'"));
    expect(listener.isRunningSync()).toBe(true);
  });
});
