// The bridge with a certificate: wss:// and https:// on one port, with a self-signed certificate
// made for the test; clients trust it through their `ca` option.
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { BridgeClient } from '../../../src/index.js';
import { startStack, upgrade } from '../helpers/bridge.js';
import { selfSignedCertificate, type TestCertificate } from '../helpers/tls.js';

let certificate: TestCertificate;
let stack: Awaited<ReturnType<typeof startStack>>;

beforeAll(async () => {
  certificate = selfSignedCertificate();
  stack = await startStack({
    token: 'tls-token',
    tls: { cert: certificate.cert, key: certificate.key },
    origins: ['https://app.example'],
  });
});
afterAll(async () => {
  await stack?.close();
  certificate?.cleanup();
});

/** An upgrade that trusts the test's certificate (unless `options` says otherwise). */
const upgradeTls = (url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}) =>
  upgrade(url, { ca: certificate.cert, ...options });

describe('the bridge over TLS', () => {
  it('prints a wss:// URL and carries commands and a stream in order, none lost', async () => {
    expect(stack.bridge.url).toBe(`wss://127.0.0.1:${stack.bridge.port}/?token=tls-token`);
    const ca = certificate.cert;
    // The WebSocket option of BridgeClient is a constructor taking the URL: this one also trusts our CA.
    class TrustingWebSocket extends WebSocket {
      constructor(url: string) {
        super(url, { ca });
      }
    }
    const client = new BridgeClient(stack.bridge.url, { WebSocket: TrustingWebSocket });
    try {
      const c = await client.createChannel();
      const l = await client.register(c);
      for (let n = 0; n < 50; n++) await client.dispatch(c, l, 'n', n);
      const seen: unknown[] = [];
      for await (const event of client.stream(c, l)) {
        seen.push(event.data);
        if (seen.length === 50) break;
      }
      expect(seen).toEqual(Array.from({ length: 50 }, (_, n) => n));
    } finally {
      client.close();
    }
  });

  it('answers plain requests over HTTPS: 426 with the token, 401 without', async () => {
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

  it('refuses a wrong token, an untrusted certificate and plain ws://', async () => {
    const port = stack.bridge.port;
    expect(await upgradeTls(`wss://127.0.0.1:${port}/?token=wrong`)).toBe(401);
    expect(await upgradeTls(stack.bridge.url, { ca: undefined })).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(await upgradeTls(`ws://127.0.0.1:${port}/?token=tls-token`)).not.toBe('open');
  });

  it('counts its own https:// origin as its own (a page it serves), not http://', async () => {
    const own = `https://127.0.0.1:${stack.bridge.port}`;
    expect(await upgradeTls(stack.bridge.url, { headers: { Origin: own } })).toBe('open');
    expect(await upgradeTls(stack.bridge.url, { headers: { Origin: 'https://app.example' } })).toBe('open');
    expect(await upgradeTls(stack.bridge.url, { headers: { Origin: `http://127.0.0.1:${stack.bridge.port}` } })).toBe(
      403,
    );
  });
});
