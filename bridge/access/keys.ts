/**
 * The key file of `--jwt-key` (docs/security.md, "Keys"): a PEM key, a JWKS whose keys are chosen
 * by the token's `kid`, else an HMAC secret (the file's bytes less one trailing newline). Each kind
 * verifies only the algorithms that fit it, so a token cannot pick its own (`alg: none`, or HS256
 * signed with a public key's text, is refused).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { StartError } from '../errors.js';
import { loadJose } from '../peers.js';

/** The HMAC algorithms, which a shared secret verifies and signs. */
const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const PSS_ALGORITHMS = ['PS256', 'PS384', 'PS512'];
const EDDSA_ALGORITHMS = ['EdDSA', 'Ed25519'];
/** An EC key's algorithm, by its curve. */
const EC_ALGORITHMS: Record<string, string> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };
/** What a JWKS may verify: every signing algorithm but `none`; each key then takes only those of its type. */
const JWKS_ALGORITHMS = [...HMAC_ALGORITHMS, ...RSA_ALGORITHMS, ...Object.values(EC_ALGORITHMS), ...EDDSA_ALGORITHMS];

/** A key file, read: what verifies a token and the algorithms it may be signed with. */
export interface VerificationKey {
  /** `pem`, `jwks` or `hmac`: how the file was read. */
  readonly kind: 'pem' | 'jwks' | 'hmac';
  readonly key: KeyObject | Uint8Array | JWTVerifyGetKey;
  readonly algorithms: readonly string[];
}

/** A key to sign with (`eric-bus token`, {@link signToken}): the key and the one algorithm it signs. */
export interface SigningKey {
  readonly key: KeyObject | Uint8Array;
  readonly alg: string;
}

/** Reads `--jwt-key FILE`; a file that cannot be read or used is a {@link StartError} naming it. */
export async function readVerificationKey(file: string): Promise<VerificationKey> {
  return verificationKey(await readKeyFile(file), file);
}

/** What a key file holds, by its content: a PEM key (its text), a JWKS, else an HMAC secret. */
export type KeyFileContent = { kind: 'pem'; text: string } | { kind: 'jwks'; jwks: JSONWebKeySet } | { kind: 'hmac' };

/** Tells what a key file's bytes hold (see the module): how `--jwt-key` and `eric-bus token` read them. */
export function keyFileContent(bytes: Uint8Array): KeyFileContent {
  const text = new TextDecoder().decode(bytes);
  const trimmed = text.trimStart();
  if (trimmed.startsWith('-----BEGIN')) return { kind: 'pem', text };
  const jwks = jwksOf(trimmed);
  return jwks ? { kind: 'jwks', jwks } : { kind: 'hmac' };
}

/** The key a key file's bytes hold (see the module); `where` names it in errors. */
export async function verificationKey(bytes: Uint8Array, where = 'the key'): Promise<VerificationKey> {
  const content = keyFileContent(bytes);
  if (content.kind === 'pem') {
    let key: KeyObject;
    try {
      key = createPublicKey(content.text);
    } catch (error) {
      throw new StartError(`${where} is not a usable PEM key (${(error as Error).message})`);
    }
    return { kind: 'pem', key, algorithms: pemAlgorithms(key, where) };
  }
  if (content.kind === 'jwks') {
    const { createLocalJWKSet } = await loadJose('--jwt-key');
    try {
      return { kind: 'jwks', key: createLocalJWKSet(content.jwks), algorithms: JWKS_ALGORITHMS };
    } catch (error) {
      throw new StartError(`${where} is not a usable JWKS (${(error as Error).message})`);
    }
  }
  const secret = hmacSecret(bytes);
  if (secret.length === 0) throw new StartError(`${where} is empty: an HMAC secret needs bytes`);
  return { kind: 'hmac', key: secret, algorithms: HMAC_ALGORITHMS };
}

/**
 * The key a key file signs with: a PEM private key (with its algorithm: RS256, PS256, ES256/384/512,
 * EdDSA), else an HMAC secret (HS256). A public key or a JWKS cannot sign: a {@link StartError}.
 */
export function signingKey(bytes: Uint8Array, where = 'the key'): SigningKey {
  const content = keyFileContent(bytes);
  if (content.kind === 'pem') {
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(content.text))
      throw new StartError(`${where} is a public key, which verifies tokens: signing one needs the private key`);
    let key: KeyObject;
    try {
      key = createPrivateKey(content.text);
    } catch (error) {
      throw new StartError(`${where} is not a usable PEM key (${(error as Error).message})`);
    }
    return { key, alg: pemAlgorithms(key, where)[0]! };
  }
  if (content.kind === 'jwks')
    throw new StartError(`${where} is a JWKS: tokens are signed with a PEM private key or an HMAC secret`);
  const secret = hmacSecret(bytes);
  if (secret.length === 0) throw new StartError(`${where} is empty: an HMAC secret needs bytes`);
  return { key: secret, alg: 'HS256' };
}

/** A key file's bytes; one that cannot be read is a {@link StartError}. */
export async function readKeyFile(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new StartError(`cannot read --jwt-key ${file}: ${(error as Error).message}`);
  }
}

/** The file's bytes less one trailing newline (`\n` or `\r\n`), as `echo secret > FILE` leaves it. */
function hmacSecret(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  if (bytes[end - 1] === 0x0a) end -= bytes[end - 2] === 0x0d ? 2 : 1;
  return bytes.subarray(0, end);
}

/** The JWKS a text holds, or undefined when it is not JSON with a `keys` array (then it is a secret). */
function jwksOf(text: string): JSONWebKeySet | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(text) as { keys?: unknown };
    return Array.isArray(parsed.keys) ? (parsed as JSONWebKeySet) : undefined;
  } catch {
    return undefined;
  }
}

/** The algorithms a PEM key fits (the first is the one it signs with). */
function pemAlgorithms(key: KeyObject, where: string): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return RSA_ALGORITHMS;
    case 'rsa-pss':
      return PSS_ALGORITHMS;
    case 'ed25519':
      return EDDSA_ALGORITHMS;
    case 'ec': {
      const alg = EC_ALGORITHMS[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (alg) return [alg];
    }
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const type = `${key.asymmetricKeyType ?? '?'}${curve ? ` ${curve}` : ''}`;
  throw new StartError(`${where} is a ${type} key, which JWTs do not use (RSA, RSA-PSS, EC P-256/384/521, Ed25519)`);
}
