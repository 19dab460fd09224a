/**
 * An HTTP request of the HTTP face as the socket command it stands for: the ids in its path and
 * the fields of its body (docs/protocol.md, "The HTTP face"). Every route's request goes through
 * here, and a mistake in it is refused here, before anything is relayed, in the request's own
 * terms (the path's channel id, the body's `type`): the server would refuse the command in the
 * socket protocol's (`c`, `t`, the verb), which an HTTP client never sent.
 */
import { InvalidMessageFormat } from '../../src/errors.js';
import type { RelayedCommand } from '../../src/wire/bridge-frames.js';
import { jsonKind } from '../../src/wire/json.js';
import { nestsDeeperThan } from '../../src/wire/json-depth.js';
import { tooDeep, type Verb } from '../../src/wire/socket-protocol.js';

/** The ids a route's path may hold, by placeholder: the command key each becomes, and its name in errors. */
const PATH_IDS: Readonly<Record<string, { key: 'c' | 'r'; name: string }>> = {
  ':c': { key: 'c', name: 'channel id' },
  ':r': { key: 'r', name: 'listener id' },
};

/** The fields a message body takes: `type` (required) becomes the command's `t`, `payload` its `p`. */
const BODY_FIELDS: readonly string[] = ['type', 'payload'];

/** A body shown in error texts as the one to send. */
const BODY_EXAMPLE = '{"type": "news", "payload": 1}';

/** The verbs whose requests carry a message in their body. */
const MESSAGE_VERBS: ReadonlySet<Verb> = new Set(['b', 'd']);

/** Decodes a body, refusing bytes that are not UTF-8 (a leading byte order mark is dropped). */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** True when a request of `verb` carries a message body, `{"type": …, "payload": …}`. */
export function takesMessage(verb: Verb): boolean {
  return MESSAGE_VERBS.has(verb);
}

/**
 * The command of a route, `verb` with the ids of its path (`template`'s `:c` and `:r`) read from
 * the request's `segments`, percent-decoded. Throws {@link InvalidMessageFormat} naming an id that
 * is empty or not valid percent-encoding.
 */
export function pathCommand(verb: Verb, template: readonly string[], segments: readonly string[]): RelayedCommand {
  const command: RelayedCommand = { v: verb };
  template.forEach((part, i) => {
    const id = PATH_IDS[part];
    if (!id) return;
    const segment = segments[i] ?? '';
    if (segment === '') throw new InvalidMessageFormat(`the ${id.name} in the path is empty`);
    try {
      command[id.key] = decodeURIComponent(segment);
    } catch {
      throw new InvalidMessageFormat(`the ${id.name} "${segment}" in the path is not valid percent-encoding`);
    }
  });
  return command;
}

/** The refusal of a request body over `limit` bytes (HTTP 413). */
export function bodyTooLarge(limit: number): InvalidMessageFormat {
  return new InvalidMessageFormat(`the request body exceeds the limit of ${limit} bytes`);
}

/**
 * A message body, `{"type": …, "payload": …}`, as the command's `t` and `p`. Throws
 * {@link InvalidMessageFormat} naming what is wrong with it: empty, not UTF-8, nesting too deep
 * (checked before it is parsed, as the socket protocol does), not JSON, not an object, a field it
 * does not take, or a `type` missing or not a string. The payload may be any JSON value.
 */
export function messageFields(body: Uint8Array): { t: string; p?: unknown } {
  if (body.length === 0)
    throw new InvalidMessageFormat(`the request body is empty: it must be a JSON object such as ${BODY_EXAMPLE}`);
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new InvalidMessageFormat('the request body is not valid UTF-8');
  }
  if (nestsDeeperThan(text)) throw new InvalidMessageFormat(tooDeep('the request body'));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidMessageFormat(`the request body is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidMessageFormat(
      `the request body must be a JSON object such as ${BODY_EXAMPLE}, not ${jsonKind(parsed)}`,
    );
  const fields = parsed as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((name) => !BODY_FIELDS.includes(name));
  if (unknown.length > 0) {
    const names = unknown.map((name) => JSON.stringify(name)).join(', ');
    const takes = BODY_FIELDS.map((name) => `"${name}"`).join(' and ');
    throw new InvalidMessageFormat(
      `unknown field${unknown.length > 1 ? 's' : ''} ${names} in the request body (it takes ${takes})`,
    );
  }
  const { type, payload } = fields;
  if (type === undefined) throw new InvalidMessageFormat('missing field "type" in the request body');
  if (typeof type !== 'string')
    throw new InvalidMessageFormat(`field "type" in the request body must be a string, not ${jsonKind(type)}`);
  // No `p` without a payload: eric-sse's server reads a missing `p` as None.
  return payload === undefined ? { t: type } : { t: type, p: payload };
}
