// Signed tokens' grants on every face of the bridge: each case is run through the WebSocket, and
// through REST or Server-Sent Events, and counted allowed (it reached the server) or refused
// (`Forbidden`, HTTP 403, and the server never saw it).
import { describe, expect } from 'vitest';
import { SocketClient } from '../../../bridge/index.js';
import { FrameClient, type Stack } from '../helpers/bridge.js';
import { it } from '../helpers/fixtures.js';
import { httpRequest, openSse } from '../helpers/http.js';
import { mint } from '../helpers/tokens.js';

/** The channels of one run: A and B (created with the shared token), O (owned by alice); their listeners. */
interface World {
  A: string;
  B: string;
  O: string;
  a1: string;
  a2: string;
  b1: string;
  o1: string;
}

/** One case: a command on the world's channels, `[verb, channel?, listener?]`. */
type Case = readonly [verb: string, channel?: keyof World, listener?: keyof World];

const CASES: readonly Case[] = [
  ['c'],
  ['r', 'A'],
  ['r', 'B'],
  ['r', 'O'],
  ['d', 'A', 'a1'],
  ['d', 'A', 'a2'],
  ['d', 'B', 'b1'],
  ['d', 'O', 'o1'],
  ['b', 'A'],
  ['b', 'B'],
  ['b', 'O'],
  ['l', 'A', 'a1'],
  ['l', 'A', 'a2'],
  ['l', 'B', 'b1'],
  ['l', 'O', 'o1'],
  ['w', 'A'],
  ['w', 'B'],
  ['rl', 'A', 'a2'],
  ['rc', 'B'],
  ['rc', 'O'],
];

const name = ([verb, channel, listener]: Case) => [verb, channel, listener].filter(Boolean).join(' ');

/** The tokens, their grants, and the cases each allows (written out, not derived from the grants). */
const TOKENS = [
  {
    name: 'reader',
    sub: 'reader',
    grants: (w: World) => ({ channels: { [w.A]: ['l', 'w'] } }),
    allows: ['l A a1', 'l A a2', 'w A'],
  },
  {
    name: 'dispatcher',
    sub: 'dispatcher',
    grants: (w: World) => ({ channels: { [w.A]: ['d', 'l', 'rl'] }, listeners: { [w.A]: [w.a1] } }),
    allows: ['d A a1', 'l A a1'],
  },
  { name: 'broadcaster', sub: undefined, grants: () => ({ channels: { '*': ['b'] } }), allows: ['b A', 'b B', 'b O'] },
  {
    name: 'all of A',
    sub: 'helper',
    grants: (w: World) => ({ channels: { [w.A]: ['*'] } }),
    allows: ['r A', 'd A a1', 'd A a2', 'b A', 'l A a1', 'l A a2', 'w A', 'rl A a2'],
  },
  {
    name: 'alice (owner of O)',
    sub: 'alice',
    grants: () => ({ create: true }),
    allows: ['c', 'r O', 'd O o1', 'b O', 'l O o1', 'rc O'],
  },
  { name: 'bob', sub: 'bob', grants: () => ({}), allows: [] },
] as const;

type Outcome = 'allowed' | 'refused';

/** A fresh world: channels made with the shared token (O for alice, as her token would have made it). */
async function makeWorld(client: SocketClient): Promise<World> {
  const A = await client.createChannel();
  const B = await client.createChannel();
  const O = await client.sendPayload({ v: 'c', o: 'alice' });
  const world = { A, B, O, a1: await client.register(A), a2: await client.register(A), b1: await client.register(B) };
  return { ...world, o1: await client.register(O) };
}

/** A case's command keys in this world; streams resume after an unknown id, so they yield one gap event at once. */
function commandOf([verb, channel, listener]: Case, world: World): Record<string, unknown> {
  const command: Record<string, unknown> = { v: verb };
  if (channel) command.c = world[channel];
  if (listener) command.r = world[listener];
  if (verb === 'd' || verb === 'b') command.t = 'note';
  if (verb === 'l' || verb === 'w') Object.assign(command, { i: 'unknown:0', n: 1 });
  return command;
}

/** Runs a case over a WebSocket: refused is a `Forbidden` error frame; anything else reached the server. */
async function overWebSocket(frames: FrameClient, id: number, command: Record<string, unknown>): Promise<Outcome> {
  const replies = await frames.until(id);
  void command;
  const last = replies.at(-1)!;
  if ('error' in last && last.error.startsWith('Forbidden(')) return 'refused';
  if ('error' in last) throw new Error(`unexpected error: ${last.error}`);
  return 'allowed';
}

/** The REST request of a plain verb. */
function restOf(command: Record<string, unknown>): { method: string; path: string; body?: unknown } {
  const { v, c, r } = command as Record<string, string>;
  switch (v) {
    case 'c':
      return { method: 'POST', path: '/channels' };
    case 'r':
      return { method: 'POST', path: `/channels/${c}/listeners` };
    case 'd':
      return { method: 'POST', path: `/channels/${c}/listeners/${r}/messages`, body: { type: 'note' } };
    case 'b':
      return { method: 'POST', path: `/channels/${c}/messages`, body: { type: 'note' } };
    case 'rl':
      return { method: 'DELETE', path: `/channels/${c}/listeners/${r}` };
    default:
      return { method: 'DELETE', path: `/channels/${c}` };
  }
}

async function overHttp(stack: Stack, token: string, command: Record<string, unknown>): Promise<Outcome> {
  const base = `http://127.0.0.1:${stack.bridge.port}`;
  const { v, c, r } = command as Record<string, string>;
  if (v === 'l' || v === 'w') {
    // Server-Sent Events: the token in the query, as an EventSource sends it.
    const path = v === 'l' ? `/channels/${c}/listeners/${r}/events` : `/channels/${c}/events`;
    const sse = await openSse(`${base}${path}?token=${encodeURIComponent(token)}&lastEventId=unknown:0`);
    try {
      if (sse.status === 403) {
        await sse.ended;
        expect(JSON.parse(sse.text).error).toMatch(/^Forbidden\('/);
        return 'refused';
      }
      expect(sse.status).toBe(200);
      expect((await sse.events(1))[0]!.type).toBe('_eric_gap');
      return 'allowed';
    } finally {
      sse.close();
    }
  }
  const { method, path, body } = restOf(command);
  const reply = await httpRequest(method, `${base}${path}`, { headers: { Authorization: `Bearer ${token}` }, body });
  if (reply.status === 403) {
    expect((reply.json as { error: string }).error).toMatch(/^Forbidden\('/);
    return 'refused';
  }
  expect(reply.status).toBeLessThan(300);
  return 'allowed';
}

describe('scoped tokens: grants × verbs × faces', () => {
  it('allows what each token grants, by WebSocket and HTTP; what it refuses never reaches the server', async ({
    signedStack,
  }) => {
    const { stack, secret, logged: seen } = await signedStack({ bridge: { token: 'shared-token' } });
    const client = new SocketClient(stack.backend.path);
    /** Commands the server ran (the owner lookups and the test's own set-up left out). */
    const ran = () => seen.filter((line) => /command (c|r|d|b|l|w|rl|rc)\b/.test(line)).length;

    const counts = { allowed: 0, refused: 0, expectedAllowed: 0, expectedRefused: 0 };
    let id = 0;
    for (const face of ['websocket', 'http'] as const) {
      for (const token of TOKENS) {
        const world = await makeWorld(client);
        const jwt = await mint(secret, { ...(token.sub ? { sub: token.sub } : {}), grants: token.grants(world) });
        const frames =
          face === 'websocket' ? await FrameClient.open(`${stack.bridge.url.split('?')[0]}?token=${jwt}`) : undefined;
        for (const item of CASES) {
          const command = commandOf(item, world);
          const before = ran();
          let outcome: Outcome;
          if (frames) {
            frames.send({ id: ++id, ...command });
            outcome = await overWebSocket(frames, id, command);
          } else outcome = await overHttp(stack, jwt, command);
          const expected: Outcome = (token.allows as readonly string[]).includes(name(item)) ? 'allowed' : 'refused';
          expect(`${face} ${token.name}: ${name(item)} ${outcome}`).toBe(
            `${face} ${token.name}: ${name(item)} ${expected}`,
          );
          // A refused command never reached the server; an allowed one did, once.
          if (outcome === 'refused') expect(ran()).toBe(before);
          else await expect.poll(ran).toBe(before + 1);
          counts[outcome]++;
          counts[expected === 'allowed' ? 'expectedAllowed' : 'expectedRefused']++;
        }
        await frames?.close();
      }
    }
    client.close();
    // 20 cases × 6 tokens × 2 ways in: 22 allowed per way in (3 + 2 + 3 + 8 + 6 + 0), the rest refused.
    expect(counts).toEqual({ allowed: 44, refused: 196, expectedAllowed: 44, expectedRefused: 196 });
  });

  it('--allow applies to every token: a verb it leaves out is refused to one granting all, and to an owner', async ({
    signedStack,
  }) => {
    const { stack, secret } = await signedStack({ bridge: { allow: ['c', 'r', 'd', 'b', 'l', 'w', 'rl'] } });
    const all = await mint(secret, { sub: 'ann', grants: { create: true, channels: { '*': ['*'] } } });
    const frames = await FrameClient.open(`ws://127.0.0.1:${stack.bridge.port}/?token=${all}`);
    const made = await frames.call(1, { v: 'c' });
    if (!('ok' in made)) throw new Error(JSON.stringify(made));
    const c = String(made.ok);
    expect(await frames.call(2, { v: 'rc', c })).toEqual({
      id: 2,
      error: `VerbNotAllowed("Verb 'rc' is not allowed on this bridge")`,
    });
    const rest = await httpRequest('DELETE', `http://127.0.0.1:${stack.bridge.port}/channels/${c}`, {
      headers: { Authorization: `Bearer ${all}` },
    });
    expect([rest.status, (rest.json as { error: string }).error]).toEqual([
      403,
      expect.stringMatching(/^VerbNotAllowed/),
    ]);
    expect(stack.backend.server.channels.get(c).id).toBe(c);
    frames.close();
  });

  it("listeners under * limit d, l and rl on every channel not named there (eric-bus token --grant '*:d:3')", async ({
    signedStack,
  }) => {
    const { stack, secret } = await signedStack();
    const channel = stack.backend.server.channels.add();
    const [one, two] = [channel.addListener().id, channel.addListener().id];
    const c = channel.id;
    const token = await mint(secret, { sub: 'ann', grants: { channels: { '*': ['d'] }, listeners: { '*': [one] } } });
    const frames = await FrameClient.open(`ws://127.0.0.1:${stack.bridge.port}/?token=${token}`);
    expect(await frames.call(1, { v: 'd', c, r: one, t: 'hi' })).toEqual({ id: 1, ok: 'ack' });
    expect(await frames.call(2, { v: 'd', c, r: two, t: 'hi' })).toEqual({
      id: 2,
      error: `Forbidden('d on listener ${two} of channel ${c}')`,
    });
    expect([channel.queueLength(one), channel.queueLength(two)]).toEqual([1, 0]);
    frames.close();
  });
});
