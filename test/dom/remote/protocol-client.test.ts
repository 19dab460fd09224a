import { describe, expect, it } from 'vitest';
import { type Command, ProtocolClient } from '../../../src/index.js';

/** A transport that records what it is asked to send. */
class Recorder extends ProtocolClient<string> {
  sent: Command[] = [];
  async sendPayload(command: Command): Promise<string> {
    this.sent.push(command);
    return 'ack';
  }
  async *streamPayload(command: Command): AsyncIterable<string> {
    this.sent.push(command);
    yield 'line';
  }
}

describe('ProtocolClient', () => {
  it('turns each verb method into the eric-sse command', async () => {
    const client = new Recorder();
    await client.createChannel();
    await client.register('1');
    await client.dispatch('1', '2', 'hello', { n: 1 });
    await client.dispatch('1', '2', 'bare');
    await client.broadcastMessage('1', 'news', null);
    await client.removeListener('1', '2');
    await client.removeChannel('1');
    for await (const _ of client.stream('1', '2'));
    for await (const _ of client.watch('1'));
    expect(client.sent).toEqual([
      { v: 'c' },
      { v: 'r', c: '1' },
      { v: 'd', c: '1', r: '2', t: 'hello', p: { n: 1 } },
      { v: 'd', c: '1', r: '2', t: 'bare' },
      { v: 'b', c: '1', t: 'news', p: null },
      { v: 'rl', c: '1', r: '2' },
      { v: 'rc', c: '1' },
      { v: 'l', c: '1', r: '2' },
      { v: 'w', c: '1' },
    ]);
  });
});
