/**
 * Verifying signed tokens (JWT, RFC 7519) with jose (docs/security.md, "Scoped tokens"): the
 * signature with `--jwt-key`'s key and only the algorithms that fit it, `exp` required, `nbf`,
 * `iss` and `aud` as configured, a size limit, and the `eric` claim read into grants. A token
 * verified once is remembered until it expires (or the keys change), so a client that sends the
 * same token on every request pays for its signature once.
 */
import type { JWTVerifyOptions } from 'jose';
import { loadJose } from '../peers.js';
import { type Grants, readGrants } from './grants.js';
import { readVerificationKey, type VerificationKey } from './keys.js';

/** How the bridge checks signed tokens (serializable: it crosses to the bridge's thread). */
export interface JwtOptions {
  /** The key file: a PEM key, a JWKS, or an HMAC secret; reread on SIGHUP (`WebSocketBridge.reloadKeys`). */
  keyFile: string;
  /** The `iss` every token must carry. */
  issuer?: string;
  /** The `aud` every token must carry (among its audiences). */
  audience?: string;
  /** Seconds of clock skew allowed on `exp` and `nbf` (0). */
  leewaySeconds?: number;
}

/** Longest token accepted, in bytes: larger ones are refused before any parsing. */
export const MAX_TOKEN_BYTES = 8 * 1024;

/** Tokens remembered as verified at most (the oldest is forgotten first). */
const CACHE_SIZE = 1024;

/** Who a verified token speaks for, and what it grants until when. */
export interface TokenScope {
  /** The token's `sub`, when it has one: channels it creates belong to it. */
  readonly sub: string | undefined;
  readonly grants: Grants;
  /** When it stops being accepted: its `exp` plus the leeway, in ms since the epoch. */
  readonly expiresAt: number;
  /** When it was issued (`iat`, else when it was verified), in ms. */
  readonly issuedAt: number;
}

/** A token refused: why, in a few words (the 401's reason). */
export class TokenRefused extends Error {
  override name = 'TokenRefused';
}

/** Checks signed tokens against `--jwt-key`'s key; {@link reload} rereads it. */
export class TokenVerifier {
  readonly #options: JwtOptions;
  #key: VerificationKey;
  readonly #cache = new Map<string, TokenScope>();

  private constructor(options: JwtOptions, key: VerificationKey) {
    this.#options = options;
    this.#key = key;
  }

  /** Reads the key file; a {@link StartError} when it cannot be read or used, or jose is missing. */
  static async start(options: JwtOptions): Promise<TokenVerifier> {
    await loadJose('--jwt-key');
    return new TokenVerifier(options, await readVerificationKey(options.keyFile));
  }

  /** The key file, as configured. */
  get keyFile(): string {
    return this.#options.keyFile;
  }

  /**
   * Rereads the key file: tokens are checked against its keys from now on, and those verified with
   * the old ones are verified again. A file that cannot be used rejects and leaves the old keys.
   */
  async reload(): Promise<void> {
    this.#key = await readVerificationKey(this.#options.keyFile);
    this.#cache.clear();
  }

  /** What a token grants; rejects with a {@link TokenRefused} saying why it is not accepted. */
  async verify(token: string, now = Date.now()): Promise<TokenScope> {
    const known = this.#cache.get(token);
    if (known !== undefined) {
      if (known.expiresAt > now) return known;
      this.#cache.delete(token);
      throw new TokenRefused('token expired');
    }
    if (Buffer.byteLength(token) > MAX_TOKEN_BYTES)
      throw new TokenRefused(`token larger than ${MAX_TOKEN_BYTES} bytes`);
    const scope = await this.#verify(token, now);
    if (this.#cache.size >= CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(token, scope);
    return scope;
  }

  async #verify(token: string, now: number): Promise<TokenScope> {
    const { jwtVerify } = await loadJose('--jwt-key');
    const leeway = this.#options.leewaySeconds ?? 0;
    const options: JWTVerifyOptions = {
      algorithms: [...this.#key.algorithms],
      requiredClaims: ['exp'],
      clockTolerance: leeway,
      currentDate: new Date(now),
    };
    if (this.#options.issuer !== undefined) options.issuer = this.#options.issuer;
    if (this.#options.audience !== undefined) options.audience = this.#options.audience;
    let payload: Record<string, unknown>;
    try {
      const key = this.#key.key;
      // One call per kind of key: jose types a key and a key-getting function apart.
      payload = (
        typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options)
      ).payload;
    } catch (error) {
      throw new TokenRefused(refusalReason(error));
    }
    let grants: Grants;
    try {
      grants = readGrants(payload.eric);
    } catch (error) {
      throw new TokenRefused(`token grants malformed: ${(error as Error).message}`);
    }
    const sub = payload.sub;
    if (sub !== undefined && (typeof sub !== 'string' || sub === ''))
      throw new TokenRefused('token "sub" is not a string');
    const iat = typeof payload.iat === 'number' ? payload.iat * 1000 : now;
    return { sub, grants, expiresAt: ((payload.exp as number) + leeway) * 1000, issuedAt: iat };
  }
}

/** A jose error as the reason of a 401: what was wrong with the token, not how jose says it. */
function refusalReason(error: unknown): string {
  const { code, claim, reason } = error as { code?: string; claim?: string; reason?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'token expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (reason === 'missing') return `token has no "${claim}"`;
      if (claim === 'nbf') return 'token not yet valid';
      return `token "${claim}" is not the expected one`;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'token algorithm not allowed for this key';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'token signature does not verify';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'token "kid" names no key of the JWKS';
    default:
      return 'token malformed';
  }
}
