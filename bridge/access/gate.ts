/**
 * Who may do what on the bridge, for all its faces (WebSocket, REST, Server-Sent Events): the
 * `Origin`, then the token — the shared one, which grants everything, or a signed one, whose grants
 * and owned channels bound every command (docs/security.md, "Scoped tokens"). A command outside
 * them gets `Forbidden(…)` and never reaches the socket server.
 */
import type { IncomingMessage } from 'node:http';
import { Forbidden, parseException } from '../../src/errors.js';
import type { RelayedCommand } from '../../src/wire/bridge-frames.js';
import { OWNER_VERB } from '../../src/wire/socket-protocol.js';
import { type AccessPolicy, checkOrigin, NO_TOKEN, presentedToken, type Refusal, sameSecret } from '../relay/access.js';
import type { Backend } from '../relay/backend.js';
import { BackendCall } from '../relay/backend-call.js';
import { forbiddenDetail, judge } from './grants.js';
import { TokenRefused, type TokenScope, type TokenVerifier } from './tokens.js';

/** Who a request or WebSocket speaks for: the holder of the shared token, or a signed token's scope. */
export type Principal = { readonly kind: 'shared' } | ({ readonly kind: 'token' } & TokenScope);

/** The holder of the shared token: everything is granted. */
export const SHARED: Principal = { kind: 'shared' };

/** Most channels whose owner a bridge remembers; past it, the longest known is forgotten first. */
export const MAX_KNOWN_OWNERS = 65_536;

/**
 * Channel id → its owner (`''`: none), as the bridge has learned them (from `c` replies and the
 * server's `own` answers), for every WebSocket and request. A running server never gives a
 * channel's id again, so an owner holds as long as the server does; all are forgotten once a
 * session to the server has ended, since the server may have restarted, and one in memory gives
 * its channel ids again from 1 (docs/security.md, "Owners").
 */
export class OwnerCache {
  readonly #owners = new Map<string, string>();
  readonly #epoch: () => number;
  readonly #max: number;
  #learnedIn: number;

  /** `epoch`: a number that changes whenever what the server said may no longer hold ({@link Backend.epoch}). */
  constructor(epoch: () => number = () => 0, max = MAX_KNOWN_OWNERS) {
    this.#epoch = epoch;
    this.#max = max;
    this.#learnedIn = epoch();
  }

  get(channel: string): string | undefined {
    this.#fresh();
    return this.#owners.get(channel);
  }

  set(channel: string, owner: string): void {
    this.#fresh();
    this.#owners.delete(channel);
    this.#owners.set(channel, owner);
    if (this.#owners.size > this.#max) this.#owners.delete(this.#owners.keys().next().value!);
  }

  delete(channel: string): void {
    this.#owners.delete(channel);
  }

  #fresh(): void {
    const now = this.#epoch();
    if (now === this.#learnedIn) return;
    this.#owners.clear();
    this.#learnedIn = now;
  }
}

/** Judges the bridge's requests and commands. */
export class AccessGate {
  readonly #policy: AccessPolicy;
  readonly #verifier: TokenVerifier | undefined;
  readonly #backend: Backend;
  readonly #owners: OwnerCache;

  /** `backend`: the socket server the bridge forwards to, asked who owns a channel. */
  constructor(policy: AccessPolicy, verifier: TokenVerifier | undefined, backend: Backend) {
    this.#policy = policy;
    this.#verifier = verifier;
    this.#backend = backend;
    this.#owners = new OwnerCache(() => backend.epoch);
  }

  /** Whether signed tokens are accepted (`--jwt-key`). */
  get verifier(): TokenVerifier | undefined {
    return this.#verifier;
  }

  /**
   * Checks a request (an upgrade, a route): the origin first, so a foreign page learns nothing about
   * tokens, then the token. Resolves its principal, or the refusal (401, 403).
   */
  async admit(request: IncomingMessage, url: URL): Promise<Principal | Refusal> {
    const refusal = checkOrigin(request, this.#policy);
    if (refusal) return refusal;
    const token = presentedToken(request, url);
    if (token === undefined) return { status: 401, reason: NO_TOKEN };
    try {
      return await this.principal(token);
    } catch (error) {
      if (error instanceof TokenRefused) return { status: 401, reason: error.message };
      throw error;
    }
  }

  /** Whether a request holds the shared token, from an allowed origin (`/metrics` on the bridge's port). */
  holdsSharedToken(request: IncomingMessage, url: URL): boolean {
    const token = presentedToken(request, url);
    return (
      checkOrigin(request, this.#policy) === undefined && token !== undefined && sameSecret(token, this.#policy.token)
    );
  }

  /** The principal of a token; rejects with a {@link TokenRefused} (a wrong token, a bad signed one). */
  async principal(token: string): Promise<Principal> {
    if (sameSecret(token, this.#policy.token)) return SHARED;
    // Not the shared token: a signed one, if the bridge takes them and it has a JWT's three parts.
    if (this.#verifier === undefined || token.split('.').length !== 3) throw new TokenRefused('wrong token');
    return { kind: 'token', ...(await this.#verifier.verify(token)) };
  }

  /**
   * Judges a command: undefined when it may go, else the {@link Forbidden} to reply. A `c` gets the
   * owner it is created for (`o`: a signed token's subject; none otherwise). Synchronous when the
   * grants decide, or the bridge knows the channel's owner; a promise when the server must be asked.
   */
  authorize(principal: Principal, command: RelayedCommand): Forbidden | undefined | Promise<Forbidden | undefined> {
    if (command.v === 'c') {
      if (principal.kind === 'token' && principal.sub !== undefined) command.o = principal.sub;
      else delete command.o;
    }
    if (principal.kind === 'shared') return undefined;
    const verdict = judge(principal.grants, command);
    if (verdict === 'granted') return undefined;
    // Made only when refused: an error's stack trace costs more than the judgement.
    const refused = () => new Forbidden(forbiddenDetail(command, principal.grants));
    const sub = principal.sub;
    if (verdict === 'refused' || sub === undefined) return refused();
    const channel = String(command.c);
    const known = this.#owners.get(channel);
    if (known !== undefined) return known === sub ? undefined : refused();
    return ownerOf(this.#backend, channel).then((owner) => {
      // A channel that does not exist (yet) is not remembered: it may be made for someone.
      if (owner !== undefined) this.#owners.set(channel, owner);
      return owner === sub ? undefined : refused();
    });
  }

  /** What a command's reply teaches: a channel made for a subject is its; a channel removed has no owner. */
  learn(command: RelayedCommand, reply: string): void {
    if (command.v === 'c') this.#owners.set(reply, typeof command.o === 'string' ? command.o : '');
    else if (command.v === 'rc') this.#owners.delete(String(command.c));
  }
}

/**
 * Asks the socket server who owns a channel, one command on its own connection (`own`, a one-shot
 * verb: docs/protocol.md, "Channel owners"): its owner, `''` for none, undefined for a channel that
 * does not exist or a server that keeps no owners (eric-sse's); a server out of reach rejects.
 */
function ownerOf(backend: Backend, channelId: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    new BackendCall(backend.socketPath, { v: OWNER_VERB, c: channelId }, false, {
      reply: (text) => resolve(ownerIn(text)),
      error: (text) => {
        const name = parseException(text)?.name;
        if (name === 'InvalidChannelException' || name === 'InvalidMessageFormat') resolve(undefined);
        else reject(parseException(text) ?? new Error(text));
      },
      lines: () => {},
      end: () => resolve(undefined),
    });
  });
}

/** The owner in an `own` reply (`"alice"`, or `null`: none). */
function ownerIn(text: string): string | undefined {
  try {
    const owner: unknown = JSON.parse(text);
    return typeof owner === 'string' ? owner : owner === null ? '' : undefined;
  } catch {
    return undefined;
  }
}
