import { describe, expect, it } from 'vitest';
import { errorFromFrame } from '../../../src/errors.js';
import {
  BackendUnavailable,
  BridgeClient,
  ConnectionLost,
  EricBusError,
  InvalidChannelException,
  TooManyStreams,
  VerbNotAllowed,
  type WebSocketConstructor,
} from '../../../src/index.js';
import { backoffDelay } from '../../../src/remote/backoff.js';
import { pushStream } from '../../../src/remote/push-stream.js';
import { parseReplyFrame } from '../../../src/wire/bridge-frames.js';

describe('backoffDelay', () => {
  it('grows exponentially up to the cap; jitter takes a share of the delay at random', () => {
    const none = { initialDelayMs: 100, maxDelayMs: 1000, jitter: 0 };
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, none))).toEqual([100, 200, 400, 800, 1000, 1000]);
    const half = { initialDelayMs: 100, maxDelayMs: 1000, jitter: 0.5 };
    expect(backoffDelay(2, half, () => 0)).toBe(200);
    expect(backoffDelay(2, half, () => 1)).toBe(400);
    expect(backoffDelay(2, half, () => 0.5)).toBe(300);
    expect(backoffDelay(0, { initialDelayMs: 100, jitter: 1 }, () => 0)).toBe(0);
  });
});

describe('parseReplyFrame', () => {
  it('reads the four frame shapes', () => {
    expect(parseReplyFrame('{"id":7,"ok":"ack"}')).toEqual({ id: 7, ok: 'ack' });
    expect(parseReplyFrame('{"id":"a","error":"X(\'y\')"}')).toEqual({ id: 'a', error: "X('y')" });
    expect(parseReplyFrame('{"id":null,"error":"InvalidMessageFormat(\'z\')"}')).toEqual({
      id: null,
      error: "InvalidMessageFormat('z')",
    });
    expect(parseReplyFrame('{"id":1,"data":{"event":"e","retry":5,"data":null}}')).toEqual({
      id: 1,
      data: { event: 'e', retry: 5, data: null },
    });
    expect(parseReplyFrame('{"id":1,"end":true}')).toEqual({ id: 1, end: true });
  });

  it('rejects anything else', () => {
    for (const text of [
      'nope',
      '[]',
      '{}',
      '{"ok":"ack"}',
      '{"id":null,"ok":"ack"}',
      '{"id":1,"ok":3}',
      '{"id":1,"end":false}',
      '{"id":1,"data":"x"}',
      '{"id":1}',
      '{"id":true,"ok":"a"}',
    ]) {
      expect(parseReplyFrame(text), text).toBeUndefined();
    }
  });
});

describe('errorFromFrame', () => {
  it('gives the library and bridge errors their classes, keeps other names, and never loses the text', () => {
    const channel = errorFromFrame("InvalidChannelException('No channel with id 9')");
    expect(channel).toBeInstanceOf(InvalidChannelException);
    expect(channel.message).toBe('No channel with id 9');
    expect(errorFromFrame(`VerbNotAllowed("Verb 'd' is not allowed")`)).toBeInstanceOf(VerbNotAllowed);
    expect(errorFromFrame("TooManyStreams('x')")).toBeInstanceOf(TooManyStreams);
    expect(errorFromFrame("BackendUnavailable('x')")).toBeInstanceOf(BackendUnavailable);
    const python = errorFromFrame("KeyError('v')");
    expect(python).toBeInstanceOf(EricBusError);
    expect([python.name, python.message]).toEqual(['KeyError', 'v']);
    const odd = errorFromFrame('something else');
    expect([odd.name, odd.message]).toEqual(['BridgeError', 'something else']);
  });
});

describe('pushStream', () => {
  it('yields pushed items in order, waits for more, and ends after the queued ones', async () => {
    const { stream, sink } = pushStream<number>(() => {});
    sink.push(1);
    sink.push(2);
    const third = stream.next();
    expect(await stream.next()).toEqual({ value: 2, done: false });
    // `third` was asked first, so it got 1; the wait below is woken by a push.
    expect(await third).toEqual({ value: 1, done: false });
    const waiting = stream.next();
    sink.push(3);
    expect(await waiting).toEqual({ value: 3, done: false });
    sink.push(4);
    sink.finish();
    expect(await stream.next()).toEqual({ value: 4, done: false });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('delivers queued items before a failure, then throws it once', async () => {
    const { stream, sink } = pushStream<number>(() => {});
    sink.push(1);
    sink.finish(new TooManyStreams('no'));
    expect(await stream.next()).toEqual({ value: 1, done: false });
    await expect(stream.next()).rejects.toBeInstanceOf(TooManyStreams);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('return() cancels once, drops what waits, and wakes a pending next()', async () => {
    let cancels = 0;
    const { stream, sink } = pushStream<number>(() => cancels++);
    const pending = stream.next();
    await stream.return!();
    await stream.return!();
    expect(await pending).toEqual({ value: undefined, done: true });
    sink.push(1);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(cancels).toBe(1);
    expect(sink.finished).toBe(true);
  });

  it('does not cancel a stream that already ended', async () => {
    let cancels = 0;
    const { stream, sink } = pushStream<number>(() => cancels++);
    sink.finish();
    for await (const _ of stream) throw new Error('nothing to yield');
    await stream.return!();
    expect(cancels).toBe(0);
  });
});

describe('BridgeClient when no WebSocket can be opened', () => {
  it('ends closed with ConnectionLost instead of throwing or retrying', async () => {
    const Refusing = class {
      constructor() {
        throw new Error('The operation is insecure.');
      }
    } as unknown as WebSocketConstructor;
    const client = new BridgeClient('ws://127.0.0.1:9/', { WebSocket: Refusing });
    expect(client.state).toBe('closed');
    await expect(client.whenConnected()).rejects.toThrow(
      /Cannot open a WebSocket to ws:\/\/127\.0\.0\.1:9\/: The operation is insecure\./,
    );
    await expect(client.createChannel()).rejects.toBeInstanceOf(ConnectionLost);
  });
});
