/**
 * eric-sse's Unix-socket protocol (docs/protocol.md, "The socket protocol"), shared by both ends:
 * the verbs, the command as a tagged union (one type per verb), parsing a command, and the text of
 * replies and stream lines.
 */

import { EricBusError, formatException, InvalidMessageFormat } from '../errors.js';
import type { SSEEvent } from './event-stream.js';
import { type JsonValue, jsonKind } from './json.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.js';

/** The verbs of eric-sse's socket protocol. */
export type Verb = Command['v'];

/** Every verb, in the protocol's order. */
export const VERBS: readonly Verb[] = ['c', 'r', 'd', 'b', 'l', 'w', 'rl', 'rc'];

/** The verbs whose reply is a stream of events rather than one string. */
export const STREAMING_VERBS: readonly Verb[] = ['l', 'w'];

/** True for a verb of the socket protocol. */
export function isVerb(verb: unknown): verb is Verb {
  return typeof verb === 'string' && (VERBS as readonly string[]).includes(verb);
}

/** True for `l` and `w`, whose reply is a stream. */
export function isStreamingVerb(verb: Verb): boolean {
  return STREAMING_VERBS.includes(verb);
}

// One type per verb, which the package does not export (see src/index.ts); their `@inline` has the API
// reference (`npm run docs`) show each shape in `Command` instead of a name it cannot link to.
/**
 * `c`: create a channel; the reply is its id.
 * @inline
 */
export interface CreateChannelCommand {
  v: 'c';
  /**
   * The channel's owner, the subject of the signed token it was created under (an eric-bus
   * extension the bridge sets; eric-sse ignores it). docs/protocol.md, "Channel owners"
   */
  o?: string;
}
/**
 * `r`: add a listener to channel `c`; the reply is its id.
 * @inline
 */
export interface AddListenerCommand {
  v: 'r';
  c: string;
}
/**
 * `d`: dispatch `Message(t, p)` to listener `r` of channel `c`.
 * @inline
 */
export interface DispatchCommand {
  v: 'd';
  c: string;
  r: string;
  t: string;
  p?: JsonValue;
}
/**
 * `b`: broadcast `Message(t, p)` to every listener of channel `c`.
 * @inline
 */
export interface BroadcastCommand {
  v: 'b';
  c: string;
  t: string;
  p?: JsonValue;
}
/**
 * `l`: start listener `r` of channel `c` and stream it; with `i`, resume after that event id
 * (docs/protocol.md, "Event ids, histories and resume").
 * @inline
 */
export interface ListenCommand {
  v: 'l';
  c: string;
  r: string;
  i?: string;
  /** The stream's key, for an `rs` that ends it (an eric-bus extension; eric-sse ignores it). */
  s?: string;
  /** At most this many events, then the stream ends (docs/protocol.md, "Bounded streams: n"; eric-sse ignores it). */
  n?: number;
}
/**
 * `w`: watch channel `c` (a new listener, streamed); with `i`, resume the watch whose stream carried that id.
 * @inline
 */
export interface WatchCommand {
  v: 'w';
  c: string;
  i?: string;
  /** The stream's key, for an `rs` that ends it (an eric-bus extension; eric-sse ignores it). */
  s?: string;
  /** At most this many events, then the stream ends (docs/protocol.md, "Bounded streams: n"; eric-sse ignores it). */
  n?: number;
}
/**
 * `rl`: remove listener `r` from channel `c`.
 * @inline
 */
export interface RemoveListenerCommand {
  v: 'rl';
  c: string;
  r: string;
}
/**
 * `rc`: remove channel `c`.
 * @inline
 */
export interface RemoveChannelCommand {
  v: 'rc';
  c: string;
}

/** One command of the socket protocol, one shape per verb (docs/protocol.md, "The socket protocol"). */
export type Command =
  | CreateChannelCommand
  | AddListenerCommand
  | DispatchCommand
  | BroadcastCommand
  | ListenCommand
  | WatchCommand
  | RemoveListenerCommand
  | RemoveChannelCommand;

/**
 * `rs`, eric-bus's extension: ends the streams whose `l` or `w` carried one of the keys `s`, because
 * their client has gone. A Unix socket does not tell the server that a client which half-closed
 * has since closed, until the server writes to it: a client that leaves an idle stream says so.
 */
export interface RemoveStreamsCommand {
  v: 'rs';
  s: string[];
}

/** What a server may be sent: the protocol's commands and eric-bus's extension. */
/**
 * eric-bus's discovery: `{"v": "hello"}`, one-shot, answered with what the server offers
 * (docs/protocol.md, "Sessions"); eric-sse's server refuses it.
 */
export interface HelloCommand {
  v: typeof HELLO_VERB;
}

/** The one-shot verb that asks a server what it offers. */
export const HELLO_VERB = 'hello';

/**
 * The first line that turns a connection into a session, and the server's answer
 * (docs/protocol.md, "Sessions").
 */
export const SESSION_OPENING = { v: 'session' } as const;

/** What an eric-bus server answers to `hello`. */
export interface HelloReply {
  server: 'eric-bus';
  version: string;
  /** At least `ids`, `rs` and `session`. */
  features: string[];
  store: { kind: 'memory' | 'redis' | (string & {}); ok: boolean };
}

/**
 * eric-bus's extension `{"v": "own", "c": "7"}`: the owner of channel `c` (the `o` of its `c`) as a
 * JSON string, or `null` when it has none; the bridge asks it to judge a signed token's subject.
 */
export interface OwnerCommand {
  v: typeof OWNER_VERB;
  c: string;
}

/** The verb that asks a server who owns a channel (docs/protocol.md, "Channel owners"). */
export const OWNER_VERB = 'own';

/** Longest owner (`o`) accepted: a token's subject. */
export const MAX_OWNER_LENGTH = 256;

export type ServerCommand = Command | RemoveStreamsCommand | HelloCommand | OwnerCommand;

/** Longest stream key (`s`) accepted; a client's keys are random and short. */
export const MAX_STREAM_KEY_LENGTH = 128;

/** eric-sse's plain success reply. */
export const ACK = 'ack';

/**
 * Parses and validates one command; throws {@link InvalidMessageFormat} saying what is wrong. A
 * command nesting deeper than {@link MAX_JSON_DEPTH} is refused before it is parsed.
 */
export function parseCommand(raw: string): ServerCommand {
  return commandFrom(parseCommandJson(raw));
}

/**
 * Parses a command's JSON text, unchecked beyond that; throws {@link InvalidMessageFormat} for
 * empty text, text nesting deeper than {@link MAX_JSON_DEPTH} (refused before it is parsed), and
 * malformed JSON.
 */
export function parseCommandJson(raw: string): unknown {
  if (raw.trim() === '') throw new InvalidMessageFormat('Empty command');
  if (nestsDeeperThan(raw)) throw new InvalidMessageFormat(tooDeep('Command'));
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw new InvalidMessageFormat(`Malformed JSON: ${(error as Error).message}`);
  }
}

/** The command's fields, when it is a JSON object; throws {@link InvalidMessageFormat} naming what it is otherwise. */
export function commandObject(parsed: unknown): Record<string, unknown> {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidMessageFormat(`A command is a JSON object, not ${jsonKind(parsed)}`);
  return parsed as Record<string, unknown>;
}

/**
 * Validates a parsed command (one-shot, or a session frame's command keys); throws
 * {@link InvalidMessageFormat} saying what is wrong.
 */
export function commandFrom(parsed: unknown): ServerCommand {
  const fields = commandObject(parsed);
  const v = fields.v;
  if (v === undefined) throw new InvalidMessageFormat("Missing verb 'v'");
  if (v === 'rs') return { v, s: streamKeys(fields.s) };
  if (v === HELLO_VERB) return { v };
  if (v === OWNER_VERB) return { v, c: requireId(fields, 'c', 'channel id', v) };
  if (!isVerb(v))
    throw new InvalidMessageFormat(
      `Unknown verb ${JSON.stringify(v)} (expected one of ${VERBS.join(', ')}, rs, ${HELLO_VERB}, ${OWNER_VERB})`,
    );
  if (v === 'c') return withOwner({ v }, fields.o);
  const c = requireId(fields, 'c', 'channel id', v);
  switch (v) {
    case 'r':
    case 'rc':
      return { v, c };
    case 'w':
      return withStreamKey(withEventLimit(withLastEventId({ v, c }, fields.i), fields.n), fields.s);
    case 'l': {
      const listen = withLastEventId({ v, c, r: requireId(fields, 'r', 'receiver id', v) }, fields.i);
      return withStreamKey(withEventLimit(listen, fields.n), fields.s);
    }
    case 'rl':
      return { v, c, r: requireId(fields, 'r', 'receiver id', v) };
    case 'd':
      return withPayload({ v, c, r: requireId(fields, 'r', 'receiver id', v), t: requireType(fields, v) }, fields.p);
    case 'b':
      return withPayload({ v, c, t: requireType(fields, v) }, fields.p);
  }
}

function withOwner(command: CreateChannelCommand, owner: unknown): CreateChannelCommand {
  if (owner === undefined || owner === '') return command;
  if (typeof owner !== 'string' || owner.length > MAX_OWNER_LENGTH)
    throw new InvalidMessageFormat(`An owner 'o' is a string of at most ${MAX_OWNER_LENGTH} characters`);
  command.o = owner;
  return command;
}

function requireType(fields: Record<string, unknown>, verb: Verb): string {
  const t = fields.t;
  if (typeof t === 'string') return t;
  throw new InvalidMessageFormat(
    t === undefined
      ? `Missing message type 't' for verb '${verb}'`
      : `Message type 't' must be a string, not ${JSON.stringify(t)}`,
  );
}

/** The detail of the refusal of a text nesting deeper than {@link MAX_JSON_DEPTH}. */
export function tooDeep(what: string): string {
  return `${what} nests deeper than ${MAX_JSON_DEPTH} levels of arrays and objects`;
}

/** Leaves `p` out when there is no payload, as eric-sse's server reads a missing `p` as None. */
export function withPayload<C extends DispatchCommand | BroadcastCommand>(command: C, payload: unknown): C {
  if (payload !== undefined) command.p = payload as JsonValue;
  return command;
}

/** Adds `i` to a streaming command when there is one (a string, as the server wrote it in an event). */
export function withLastEventId<C extends ListenCommand | WatchCommand>(command: C, id: unknown): C {
  if (id === undefined) return command;
  if (typeof id !== 'string')
    throw new InvalidMessageFormat(`Last event id 'i' must be a string, not ${JSON.stringify(id)}`);
  command.i = id;
  return command;
}

/**
 * Adds `n` to a streaming command when there is one: the server writes at most `n` events on the
 * stream, takes no more than that off the queue, then ends it (docs/protocol.md, "Bounded streams: n").
 * Anything but a positive whole number is refused with {@link InvalidMessageFormat}.
 */
export function withEventLimit<C extends ListenCommand | WatchCommand>(command: C, limit: unknown): C {
  if (limit === undefined) return command;
  if (!isEventLimit(limit)) {
    const shown = typeof limit === 'number' ? String(limit) : JSON.stringify(limit);
    throw new InvalidMessageFormat(`Event limit 'n' must be a positive whole number, not ${shown}`);
  }
  command.n = limit;
  return command;
}

/**
 * How many events a streaming command asks for at most: its `n` when that is valid, else no limit
 * (a command sent as it is, which the server then refuses).
 */
export function eventLimitOf(command: object): number {
  const n = 'n' in command ? command.n : undefined;
  return isEventLimit(n) ? n : Infinity;
}

function isEventLimit(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1;
}

function withStreamKey<C extends ListenCommand | WatchCommand>(command: C, key: unknown): C {
  if (key !== undefined) command.s = streamKey(key);
  return command;
}

function streamKey(key: unknown): string {
  if (typeof key === 'string' && key !== '' && key.length <= MAX_STREAM_KEY_LENGTH) return key;
  throw new InvalidMessageFormat(`A stream key 's' is a string of 1 to ${MAX_STREAM_KEY_LENGTH} characters`);
}

function streamKeys(keys: unknown): string[] {
  if (Array.isArray(keys) && keys.length > 0) return keys.map(streamKey);
  if (typeof keys === 'string') return [streamKey(keys)];
  throw new InvalidMessageFormat("Verb 'rs' takes a stream key 's', or a non-empty array of them");
}

function requireId(fields: Record<string, unknown>, key: 'c' | 'r', what: string, verb: string): string {
  const value = fields[key];
  if (typeof value === 'string') return value;
  // eric-sse's ids are strings; a number is accepted as its decimal form, as a shell user would type it.
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  throw new InvalidMessageFormat(`Missing ${what} '${key}' (a string) for verb '${verb}'`);
}

/** The reply for an error: `Name('detail')`; errors that are not eric-bus's are reported without their internals. */
export function formatError(error: unknown): string {
  if (error instanceof EricBusError) return formatException(error);
  return formatException(Object.assign(new Error('Internal server error'), { name: 'Exception' }));
}

/**
 * One stream line: the event as JSON, newline-terminated, with its `id` when given
 * (docs/protocol.md, "Event ids, histories and resume"); a
 * missing payload is `null`, as Python's `None`.
 */
export function formatEvent(event: SSEEvent, id?: string): string {
  return eventLine(eventHead(event), id);
}

/**
 * The part of an event's line that does not depend on its id: its JSON up to the closing brace.
 * Made once, it serves every listener a broadcast reaches (see {@link eventLine}).
 */
export function eventHead(event: SSEEvent): string {
  // Member by member: cheaper than stringifying a wrapper object, and a payload JSON has no text
  // for (a function, say) is null, as it would be in an array, instead of a missing key.
  const retry = Number.isFinite(event.retry) ? event.retry : null;
  const data = JSON.stringify(event.data ?? null) ?? 'null';
  return `{"event":${JSON.stringify(event.event)},"retry":${retry},"data":${data}`;
}

/** The stream line of an event from its {@link eventHead} and its id: the same text {@link formatEvent} writes. */
export function eventLine(head: string, id?: string): string {
  return id === undefined ? `${head}}\n` : `${head},"id":${JSON.stringify(id)}}\n`;
}
