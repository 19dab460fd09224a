// The bridge with a certificate: wss:// and https:// on one port, with a self-signed certificate
// made for the file; clients trust it through their `ca` option.
import { request } from 'node:https';
import { afterAll, describe, expect } from 'vitest';
import { WebSocket } from 'ws';
import { upgrade } from '../helpers/bridge.js';
import { it } from '../helpers/fixtures.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const certificate = selfSignedCertificate();
afterAll(() => certificate.cleanup());

/** An upgrade that trusts the test's certificate (unless `options` says otherwise). */
const upgradeTls = (url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}) =>
  upgrade(url, { ca: certificate.cert, ...options });

describe('the bridge over TLS', () => {
  it.override('bridgeOptions', {
    token: 'tls-token',
    tls: { cert: certificate.cert, key: certificate.key },
    origins: ['https://app.example'],
  });

  it('prints a wss:// URL and carries commands and a stream in order, none lost', async ({ stack, bridgeClient }) => {
    expect(stack.bridge.url).toBe(`wss://127.0.0.1:${stack.bridge.port}/?token=tls-token`);
    const ca = certificate.cert;
    // The WebSocket option of BridgeClient is a constructor taking the URL: this one also trusts our CA.
    class TrustingWebSocket extends WebSocket {
      constructor(url: string) {
        super(url, { ca });
      }
    }
    const client = bridgeClient(stack.bridge.url, { WebSocket: TrustingWebSocket });
    const c = await client.createChannel();
    const l = await client.register(c);
    for (let n = 0; n < 50; n++) await client.dispatch(c, l, 'n', n);
    const seen: unknown[] = [];
    for await (const event of client.stream(c, l)) {
      seen.push(event.data);
      if (seen.length === 50) break;
    }
    expect(seen).toEqual(Array.from({ length: 50 }, (_, n) => n));
  });

  it('answers plain requests over HTTPS: 426 with the token, 401 without', async ({ stack }) => {
    const get = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`https://127.0.0.1:${stack.bridge.port}${path}`, { ca: certificate.cert }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.once('error', reject);
        req.end();
      });
    expect(await get('/?token=tls-token')).toBe(426);
    expect(await get('/?token=wrong')).toBe(401);
  });

  it('refuses a wrong token, an untrusted certificate and plain ws://', async ({ stack }) => {
    const port = stack.bridge.port;
    expect(await upgradeTls(`wss://127.0.0.1:${port}/?token=wrong`)).toBe(401);
    expect(await upgradeTls(stack.bridge.url, { ca: undefined })).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(await upgradeTls(`ws://127.0.0.1:${port}/?token=tls-token`)).not.toBe('open');
  });

  it('counts its own https:// origin as its own (a page it serves), not http://', async ({ stack }) => {
    const port = stack.bridge.port;
    expect(await upgradeTls(stack.bridge.url, { headers: { Origin: `https://127.0.0.1:${port}` } })).toBe('open');
    expect(await upgradeTls(stack.bridge.url, { headers: { Origin: 'https://app.example' } })).toBe('open');
    expect(await upgradeTls(stack.bridge.url, { headers: { Origin: `http://127.0.0.1:${port}` } })).toBe(403);
  });
});
