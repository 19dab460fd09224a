// Signed tokens that the bridge refuses, each as a wrong shared token is (HTTP 401, with why), on the
// upgrade, the REST routes and Server-Sent Events alike, and nothing of theirs reaching the server;
// and the keys it takes: HMAC secrets, PEM public keys (RSA, EC, Ed25519), JWKS by kid.
import { describe, expect } from 'vitest';
import { MAX_TOKEN_BYTES } from '../../../bridge/index.js';
import { type Stack, upgrade } from '../helpers/bridge.js';
import { it } from '../helpers/fixtures.js';
import { httpRequest } from '../helpers/http.js';
import { claims, hmacSigned, jwksFile, mint, pemKeyFiles, signedClaims, unsecuredToken } from '../helpers/tokens.js';

const now = () => Math.floor(Date.now() / 1000);

/** How each face answers a token: the upgrade's status ('open' when accepted), a route's and a stream's reply. */
async function faces(stack: Stack, token: string) {
  const base = `127.0.0.1:${stack.bridge.port}`;
  const ws = await upgrade(`ws://${base}/?token=${encodeURIComponent(token)}`);
  const rest = await httpRequest('POST', `http://${base}/channels`, { headers: { Authorization: `Bearer ${token}` } });
  // A channel that does not exist: an accepted token gets its 404 at once, not a stream that stays open.
  const sse = await httpRequest('GET', `http://${base}/channels/none/events?token=${encodeURIComponent(token)}`);
  return { ws, rest: rest.status, sse: sse.status, why: (rest.json as { error?: string }).error };
}

describe('signed tokens refused', () => {
  it('alg none, wrong alg, bad signature, no or past exp, future nbf, too large: 401, nothing forwarded', async ({
    signedStack,
    dir,
  }) => {
    const { stack, secret, logged: seen } = await signedStack({ bridge: { token: 'shared-token' } });
    const rsa = pemKeyFiles(dir, 'rsa');
    const { exp: _exp, ...noExp } = claims();
    const cases: [string, string, string][] = [
      ['alg none', unsecuredToken(), 'token algorithm not allowed for this key'],
      [
        'RS256 to an HMAC key',
        await signedClaims(rsa.privateKey, claims(), { alg: 'RS256' }),
        'token algorithm not allowed for this key',
      ],
      [
        'HS512 of another secret',
        await signedClaims('another secret', claims(), { alg: 'HS512' }),
        'token signature does not verify',
      ],
      ['a signature tampered with', `${(await mint(secret)).slice(0, -4)}AAAA`, 'token signature does not verify'],
      ['expired', await signedClaims(secret, claims({ exp: now() - 5 })), 'token expired'],
      ['without exp', await signedClaims(secret, noExp), 'token has no "exp"'],
      ['not yet valid', await signedClaims(secret, claims({ nbf: now() + 600 })), 'token not yet valid'],
      [
        'grants of the wrong shape',
        await signedClaims(secret, claims({ eric: { channels: { 7: 'l' } } })),
        'token grants malformed: "eric.channels.7" is a list of strings',
      ],
      [
        'a verb that does not exist',
        await signedClaims(secret, claims({ eric: { channels: { 7: ['x'] } } })),
        'token grants malformed: "eric.channels.7" names unknown verbs: x',
      ],
      [
        'over the size limit',
        await signedClaims(secret, claims({ pad: 'x'.repeat(MAX_TOKEN_BYTES) })),
        `token larger than ${MAX_TOKEN_BYTES} bytes`,
      ],
      ['not a JWT', 'not-a-jwt', 'wrong token'],
      ['three parts of nonsense', 'a.b.c', 'token malformed'],
    ];
    for (const [what, token, why] of cases) {
      expect({ what, ...(await faces(stack, token)) }).toEqual({
        what,
        ws: 401,
        rest: 401,
        sse: 401,
        why: `BridgeRefused('${why}')`,
      });
    }
    expect(seen.filter((line) => /command (c|w)\b/.test(line))).toEqual([]);
    // The shared token works as it always did; a good signed token opens too.
    expect(await faces(stack, 'shared-token')).toMatchObject({ ws: 'open', rest: 201 });
    expect(await faces(stack, await mint(secret, { grants: { create: true, channels: { 1: ['w'] } } }))).toMatchObject({
      ws: 'open',
      rest: 201,
    });
  });

  it('an HS256 token signed with the RSA public key as its secret (algorithm confusion) is refused', async ({
    startStack,
    dir,
  }) => {
    const rsa = pemKeyFiles(dir, 'rsa');
    const stack = await startStack({ jwt: { keyFile: rsa.publicFile } });
    const forged = hmacSigned(rsa.publicPem);
    expect(await faces(stack, forged)).toMatchObject({ ws: 401, rest: 401, sse: 401 });
    const good = await signedClaims(rsa.privateKey, claims(), { alg: 'RS256' });
    expect(await faces(stack, good)).toMatchObject({ ws: 'open' });
  });

  it('checks iss and aud when configured, and allows --jwt-leeway seconds of skew on exp and nbf', async ({
    signedStack,
  }) => {
    const { stack, secret } = await signedStack({ jwt: { issuer: 'https://app', audience: 'bus', leewaySeconds: 30 } });
    const right = { iss: 'https://app', aud: 'bus' };
    const cases: [Record<string, unknown>, number | string, string | undefined][] = [
      [right, 'open', undefined],
      [{ ...right, iss: 'https://evil' }, 401, `BridgeRefused('token "iss" is not the expected one')`],
      [{ ...right, aud: 'other' }, 401, `BridgeRefused('token "aud" is not the expected one')`],
      [{ aud: 'bus' }, 401, `BridgeRefused('token has no "iss"')`],
      [{ ...right, exp: now() - 10 }, 'open', undefined],
      [{ ...right, exp: now() - 60 }, 401, `BridgeRefused('token expired')`],
      [{ ...right, nbf: now() + 10 }, 'open', undefined],
      [{ ...right, nbf: now() + 60 }, 401, `BridgeRefused('token not yet valid')`],
    ];
    for (const [extra, ws, why] of cases) {
      const result = await faces(stack, await signedClaims(secret, claims(extra)));
      expect({ extra, ws: result.ws, why: result.ws === 'open' ? undefined : result.why }).toEqual({ extra, ws, why });
    }
  });

  it('takes PEM public keys (RSA, EC P-256, Ed25519) and a JWKS, whose key the token names by kid', async ({
    startStack,
    dir,
  }) => {
    for (const type of ['rsa', 'ec', 'ed25519'] as const) {
      const pair = pemKeyFiles(dir, type);
      const stack = await startStack({ jwt: { keyFile: pair.publicFile } });
      expect(await faces(stack, await mint(pair.privatePem, { grants: { create: true } }))).toMatchObject({
        ws: 'open',
        rest: 201,
      });
      // The same kind of key, another pair: its signature does not verify.
      expect((await faces(stack, await mint(pemKeyFiles(dir, type, `${type}-other`).privatePem))).ws).toBe(401);
    }
    const one = pemKeyFiles(dir, 'rsa', 'one');
    const two = pemKeyFiles(dir, 'ec', 'two');
    const stack = await startStack({
      jwt: { keyFile: await jwksFile(dir, { one: one.publicKey, two: two.publicKey }) },
    });
    expect((await faces(stack, await signedClaims(one.privateKey, claims(), { alg: 'RS256', kid: 'one' }))).ws).toBe(
      'open',
    );
    expect((await faces(stack, await signedClaims(two.privateKey, claims(), { alg: 'ES256', kid: 'two' }))).ws).toBe(
      'open',
    );
    const unknown = await faces(stack, await signedClaims(two.privateKey, claims(), { alg: 'ES256', kid: 'three' }));
    expect(unknown).toMatchObject({ ws: 401, why: `BridgeRefused('token "kid" names no key of the JWKS')` });
    // Key one's kid on key two's signature.
    expect((await faces(stack, await signedClaims(two.privateKey, claims(), { alg: 'ES256', kid: 'one' }))).ws).toBe(
      401,
    );
  });
});
