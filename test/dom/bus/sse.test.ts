import { describe, expect, it } from 'vitest';
import {
  EricBusError,
  formatException,
  InvalidChannelException,
  InvalidListenerException,
  InvalidMessageFormat,
  MESSAGE_TYPE_CLOSED,
  MESSAGE_TYPE_END_OF_STREAM,
  Message,
  NoMessagesException,
  parseEventStream,
  parseException,
  resetIdGenerators,
  SignedMessage,
  SSEChannel,
  SSEChannelContainer,
  setIdGenerator,
  toEventStream,
} from '../../../src/index.js';

describe('SSE text form', () => {
  it('writes event, retry and one data line per line, as EventSource reads it back', () => {
    const text = toEventStream({ event: 'note', retry: 5, data: 'one\ntwo\r\nthree\rfour' });
    expect(text).toBe('event: note\nretry: 5\ndata: one\ndata: two\ndata: three\ndata: four\n\n');
    expect(parseEventStream(text)).toEqual([{ event: 'note', retry: 5, data: 'one\ntwo\nthree\nfour' }]);
  });

  it('JSON-encodes non-string data and round-trips several events', () => {
    const channel = new SSEChannel();
    const events = [new Message('a', { x: [1, 'two'] }), new Message('b', 3)].map((m) => channel.adapt(m));
    const parsed = parseEventStream(events.map(toEventStream).join(''));
    expect(parsed.map((e) => [e.event, JSON.parse(e.data)])).toEqual([
      ['a', { x: [1, 'two'] }],
      ['b', 3],
    ]);
  });

  it('refuses an event type with a line break', () => {
    expect(() => toEventStream({ event: 'a\nb', retry: 5, data: '' })).toThrow(InvalidMessageFormat);
  });

  it('applies the payload adapter', () => {
    const channel = new SSEChannel({ payloadAdapter: (p) => JSON.stringify(p) });
    expect(channel.adapt(new Message('t', { a: 1 }))).toEqual({ event: 't', retry: 5, data: '{"a":1}' });
  });
});

describe('messages, ids, exceptions, container', () => {
  it('SignedMessage carries {sender_id, payload} exactly as the seed', () => {
    const m = new SignedMessage('7', 'hello', { a: 1 });
    expect(m.senderId).toBe('7');
    expect(m.type).toBe('hello');
    expect(m.payload).toEqual({ sender_id: '7', payload: { a: 1 } });
    expect(MESSAGE_TYPE_CLOSED).toBe('_eric_channel_closed');
    expect(MESSAGE_TYPE_END_OF_STREAM).toBe(MESSAGE_TYPE_CLOSED);
  });

  it('ids are sequential decimal strings per kind, resettable and replaceable', () => {
    resetIdGenerators();
    const channel = new SSEChannel();
    expect(channel.id).toBe('1');
    expect([channel.addListener().id, channel.addListener().id]).toEqual(['1', '2']);
    setIdGenerator('listener', () => 'fixed');
    expect(channel.addListener().id).toBe('fixed');
    resetIdGenerators();
  });

  it('exceptions are Errors named for their class and round-trip the wire form', () => {
    for (const Cls of [InvalidChannelException, InvalidListenerException, InvalidMessageFormat, NoMessagesException]) {
      const error = new Cls("it's 'quoted'\nand more");
      expect(error).toBeInstanceOf(Error);
      expect(error).toBeInstanceOf(EricBusError);
      expect(error.name).toBe(Cls.name);
      const back = parseException(formatException(error));
      expect(back).toBeInstanceOf(Cls);
      expect(back?.message).toBe(error.message);
    }
    expect(formatException(new InvalidChannelException('No channel with id 2'))).toBe(
      "InvalidChannelException('No channel with id 2')",
    );
    expect(parseException('ack')).toBeUndefined();
    expect(parseException('SomethingElse("x")')?.name).toBe('SomethingElse');
  });

  it('the container creates, finds, iterates and removes channels', async () => {
    const container = new SSEChannelContainer();
    const a = container.add();
    const b = container.add();
    expect(container.get(a.id)).toBe(a);
    expect([...container]).toEqual([a, b]);
    const listener = b.addListener();
    listener.startSync();
    const stream = b.messageStream(listener);
    container.rm(b.id);
    expect((await stream.next()).value?.event).toBe(MESSAGE_TYPE_CLOSED);
    expect((await stream.next()).done).toBe(true);
    expect(() => container.get(b.id)).toThrow(`No channel with id ${b.id}`);
    expect(() => container.rm('nope')).toThrow(InvalidChannelException);
  });
});
