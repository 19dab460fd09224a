/**
 * What a signed token grants, from its `eric` claim (docs/security.md, "Grants"), and the judgement
 * of one command against it: granted, refused, or granted only if the token's subject owns the channel.
 */
import { isVerb, VERBS, type Verb } from '../../src/wire/socket-protocol.js';

/** `*`: every channel (as a key of `channels`), or every verb (in a channel's list). */
export const ANY = '*';

/** A token's grants, read from its `eric` claim. */
export interface Grants {
  /** `c` allowed. */
  readonly create: boolean;
  /** Channel id (or `*`) → the verbs allowed on it. */
  readonly channels: ReadonlyMap<string, ReadonlySet<Verb>>;
  /** Channel id → the listeners that `d`, `l` and `rl` may name on it. */
  readonly listeners: ReadonlyMap<string, ReadonlySet<string>>;
}

/** The grants of a token without an `eric` claim: nothing but what its subject owns. */
export const NO_GRANTS: Grants = { create: false, channels: new Map(), listeners: new Map() };

/** The verbs that `listeners` limits to the listener ids it names. */
const LISTENER_VERBS: ReadonlySet<Verb> = new Set(['d', 'l', 'rl']);

/**
 * Reads an `eric` claim; a claim of the wrong shape throws a TypeError saying what is wrong (the
 * token is then refused: a grant misread could grant too much).
 */
export function readGrants(claim: unknown): Grants {
  if (claim === undefined) return NO_GRANTS;
  const fields = record(claim, 'the claim "eric"');
  const create = fields.create ?? false;
  if (typeof create !== 'boolean') throw new TypeError('"eric.create" is true or false');
  const channels = new Map<string, ReadonlySet<Verb>>();
  for (const [channel, list] of Object.entries(record(fields.channels ?? {}, '"eric.channels"'))) {
    const verbs = strings(list, `"eric.channels.${channel}"`);
    const unknown = verbs.filter((v) => v !== ANY && !isVerb(v));
    if (unknown.length > 0)
      throw new TypeError(`"eric.channels.${channel}" names unknown verbs: ${unknown.join(', ')}`);
    channels.set(channel, new Set(verbs.includes(ANY) ? VERBS : verbs.filter(isVerb)));
  }
  const listeners = new Map<string, ReadonlySet<string>>();
  for (const [channel, list] of Object.entries(record(fields.listeners ?? {}, '"eric.listeners"')))
    listeners.set(channel, new Set(strings(list, `"eric.listeners.${channel}"`)));
  return { create, channels, listeners };
}

/** The command's parts that grants are judged on. */
export interface Judged {
  readonly v: Verb;
  readonly c?: unknown;
  readonly r?: unknown;
}

/**
 * Whether grants allow a command: `granted`, or `owner` when only the channel's owner may run it
 * (the caller then asks who that is), or `refused` (`c` without `create`).
 */
export function judge(grants: Grants, command: Judged): 'granted' | 'owner' | 'refused' {
  if (command.v === 'c') return grants.create ? 'granted' : 'refused';
  const channel = String(command.c);
  if (!verbGranted(grants, command.v, channel)) return 'owner';
  const only = listenersOnly(grants, command.v, channel);
  return only === undefined || only.has(String(command.r)) ? 'granted' : 'owner';
}

/**
 * The detail of a `Forbidden` reply: `d on channel 7`, `c: this token may not create channels`,
 * and `d on listener 3 of channel 7` when the token grants the verb there but not on that listener.
 */
export function forbiddenDetail(command: Judged, grants: Grants = NO_GRANTS): string {
  if (command.v === 'c') return 'c: this token may not create channels';
  const channel = String(command.c);
  if (verbGranted(grants, command.v, channel) && listenersOnly(grants, command.v, channel))
    return `${command.v} on listener ${String(command.r)} of channel ${channel}`;
  return `${command.v} on channel ${channel}`;
}

function verbGranted(grants: Grants, verb: Verb, channel: string): boolean {
  return grants.channels.get(channel)?.has(verb) === true || grants.channels.get(ANY)?.has(verb) === true;
}

/** The listeners a verb is limited to on a channel (those named for it, else for `*`), if it is. */
function listenersOnly(grants: Grants, verb: Verb, channel: string): ReadonlySet<string> | undefined {
  if (!LISTENER_VERBS.has(verb)) return undefined;
  return grants.listeners.get(channel) ?? grants.listeners.get(ANY);
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  throw new TypeError(`${what} is an object`);
}

function strings(value: unknown, what: string): string[] {
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw new TypeError(`${what} is a list of strings`);
}
