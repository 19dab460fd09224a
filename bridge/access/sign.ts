/**
 * Minting a signed token (docs/security.md, "Minting a token"): what a backend does for a user, and
 * what `eric-bus token` prints. The key is a key file's contents: a PEM private key (signing with its
 * algorithm) or an HMAC secret (HS256).
 */
import type { Verb } from '../../src/wire/socket-protocol.js';
import { loadJose } from '../peers.js';
import { readGrants } from './grants.js';
import { signingKey } from './keys.js';

/** What a token grants, as its `eric` claim holds it (docs/security.md, "Grants"). */
export interface TokenGrants {
  /** `c` allowed: channels it creates belong to its `sub`. */
  create?: boolean;
  /** Channel id, or `*` for every channel → the verbs allowed on it (`*`: all). */
  channels?: Record<string, readonly (Verb | '*')[]>;
  /** Channel id → the only listeners `d`, `l` and `rl` may name on it. */
  listeners?: Record<string, readonly string[]>;
}

/** A token to mint. */
export interface TokenRequest {
  /** The subject (a user id): channels created with the token belong to it. */
  sub?: string;
  grants?: TokenGrants;
  /** Seconds from now until it expires (3600). */
  ttlSeconds?: number;
  /** Its `iss`, for a bridge started with `--jwt-issuer`. */
  issuer?: string;
  /** Its `aud`, for a bridge started with `--jwt-audience`. */
  audience?: string;
}

/** A token's lifetime when none is asked for: an hour. */
export const DEFAULT_TTL_SECONDS = 3600;

/**
 * Signs a token with `key`, the contents of a key file (`--jwt-key`): a PEM private key or an HMAC
 * secret (less one trailing newline, as the bridge reads the file). Throws a TypeError for grants
 * the bridge would refuse, and a `StartError` for a key that cannot sign (a public key, a JWKS).
 */
export async function signToken(key: string | Uint8Array, request: TokenRequest = {}): Promise<string> {
  const { SignJWT } = await loadJose('signToken');
  const signing = signingKey(typeof key === 'string' ? new TextEncoder().encode(key) : key);
  const grants = request.grants ?? {};
  readGrants(grants);
  const ttl = request.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!(Number.isFinite(ttl) && ttl > 0)) throw new RangeError(`ttlSeconds is a positive number, not ${ttl}`);
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ eric: grants as Record<string, unknown> })
    .setProtectedHeader({ alg: signing.alg, typ: 'JWT' })
    .setIssuedAt(now)
    .setExpirationTime(now + Math.ceil(ttl));
  if (request.sub !== undefined) jwt.setSubject(request.sub);
  if (request.issuer !== undefined) jwt.setIssuer(request.issuer);
  if (request.audience !== undefined) jwt.setAudience(request.audience);
  return jwt.sign(signing.key);
}
