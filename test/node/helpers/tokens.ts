/** Signed tokens for the access tests: key files of every kind, tokens signed right and wrong. */
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, SignJWT } from 'jose';
import { signToken, type TokenRequest } from '../../../bridge/index.js';

/** An HMAC secret as a key file (with the trailing newline `echo` leaves), and the secret itself. */
export function hmacKeyFile(dir: string, secret = 'a-test-secret-of-32-bytes-or-so!', name = 'hmac.key') {
  const file = join(dir, name);
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return { file, secret };
}

/** A key pair as PEM files: the public one for `--jwt-key`, the private one to sign with. */
export function pemKeyFiles(dir: string, type: 'rsa' | 'ec' | 'ed25519' = 'rsa', name: string = type) {
  const pair =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const publicFile = join(dir, `${name}.pub.pem`);
  const privateFile = join(dir, `${name}.pem`);
  writeFileSync(publicFile, publicPem);
  writeFileSync(privateFile, privatePem, { mode: 0o600 });
  return { publicFile, privateFile, publicPem, privatePem, publicKey: pair.publicKey, privateKey: pair.privateKey };
}

/** A JWKS file holding public keys by `kid`. */
export async function jwksFile(dir: string, keys: Record<string, KeyObject>, name = 'jwks.json'): Promise<string> {
  const jwks = {
    keys: await Promise.all(Object.entries(keys).map(async ([kid, key]) => ({ ...(await exportJWK(key)), kid }))),
  };
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(jwks));
  return file;
}

/** A token signed with `key` (a key file's contents), a kid in its header when given. */
export function mint(key: string, request: TokenRequest = {}): Promise<string> {
  return signToken(key, request);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Claims that a bridge would accept but for what a test does to the token: an hour to live. */
export function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { sub: 'mallory', iat: now, exp: now + 3600, eric: { channels: { '*': ['*'] } }, ...extra };
}

/** A token with `alg: none` and no signature (RFC 7519's unsecured JWT). */
export function unsecuredToken(payload = claims()): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
}

/** A token signed HS256 with `secret` as the HMAC key, whatever header it claims (`alg` confusion). */
export function hmacSigned(secret: string | Buffer, payload = claims(), header: Record<string, unknown> = {}): string {
  const head = `${b64({ alg: 'HS256', typ: 'JWT', ...header })}.${b64(payload)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/** A token of any claims, signed by jose with `key` (a secret's text, or a private key) in `alg`. */
export async function signedClaims(
  key: string | KeyObject,
  payload: Record<string, unknown> = claims(),
  header: { alg: string; kid?: string } = { alg: 'HS256' },
): Promise<string> {
  const signing = typeof key === 'string' ? new TextEncoder().encode(key) : key;
  return new SignJWT(payload).setProtectedHeader(header).sign(signing);
}
