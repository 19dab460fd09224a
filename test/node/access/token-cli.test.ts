// The command line's side of signed tokens: `eric-bus token` mints one, `up --jwt-key` takes it (and
// `send --url` with it), SIGHUP rereads the key file without a restart, and without --jwt-key SIGHUP
// stops the process as before.
import { writeFileSync } from 'node:fs';
import { describe, expect } from 'vitest';
import { jwtClaims } from '../../../src/wire/jwt-claims.js';
import { until } from '../helpers/async.js';
import { upgrade } from '../helpers/bridge.js';
import { type CliOptions, type Running, runCli as run } from '../helpers/cli.js';
import { it } from '../helpers/fixtures.js';
import { claims, hmacKeyFile, pemKeyFiles, signedClaims } from '../helpers/tokens.js';

/** The `startCli` fixture. */
type StartCli = (
  args: string[],
  ready: string | RegExp,
  options?: CliOptions,
) => Promise<Running & { match: RegExpExecArray | null }>;

const header = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { alg: string };

describe('eric-bus token', () => {
  it('prints a token alone: sub, grants and lifetime as asked; HS256, or the PEM key’s algorithm', async ({ dir }) => {
    const { file } = hmacKeyFile(dir);
    const args = [
      '--sub',
      'alice',
      '--create',
      '--grant',
      '7:l,w,d:3',
      '--grant',
      '*:b',
      '--grant',
      '7:rl',
      '--ttl',
      '15m',
    ];
    const minted = await run(['token', '--jwt-key', file, ...args]);
    expect(minted).toMatchObject({ code: 0, stderr: '' });
    expect(minted.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const token = minted.stdout.trim();
    const claims = jwtClaims(token)!;
    expect(claims).toMatchObject({
      sub: 'alice',
      eric: { create: true, channels: { 7: ['l', 'w', 'd', 'rl'], '*': ['b'] }, listeners: { 7: ['3'] } },
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    expect(header(token).alg).toBe('HS256');
    for (const [type, alg] of [
      ['rsa', 'RS256'],
      ['ec', 'ES256'],
      ['ed25519', 'EdDSA'],
    ] as const) {
      const pem = pemKeyFiles(dir, type);
      expect(header((await run(['token', '--jwt-key', pem.privateFile])).stdout.trim()).alg).toBe(alg);
      // A public key verifies, it cannot sign.
      expect(await run(['token', '--jwt-key', pem.publicFile])).toMatchObject({ code: 2 });
    }
    expect((await run(['token', '--jwt-key', file, '--grant', '7'])).stderr).toMatch(/--grant takes C:VERBS/);
    expect((await run(['token', '--jwt-key', file, '--grant', '7:x'])).stderr).toMatch(/unknown verbs: x/);
    expect((await run(['token', '--jwt-key', file, '--ttl', '3w'])).stderr).toMatch(/--ttl takes N\[s\|m\|h\|d\]/);
  });

  it('up --jwt-key says it takes signed tokens, takes what `token` mints (send --url too); others: Forbidden', async ({
    startCli,
    dir,
  }) => {
    const pem = pemKeyFiles(dir, 'ec');
    const up = await startCli(
      ['up', '--port', '0', '--jwt-key', pem.publicFile],
      /mint one with its private key: (.+)/,
    );
    expect(up.match![1]).toBe('eric-bus token --jwt-key PRIVATE_KEY_FILE --sub alice --create');
    const bare = /bridge at (ws:\/\/\S+)/.exec(up.stdout())![1]!.split('?')[0]!;
    const token = (await run(['token', '--jwt-key', pem.privateFile, '--sub', 'ann', '--create'])).stdout.trim();
    const url = `${bare}?token=${token}`;
    const created = await run(['send', '--url', url, 'create-channel']);
    expect(created).toMatchObject({ code: 0 });
    const c = created.stdout.trim();
    // Her channel: every verb on it.
    const l = (await run(['send', '--url', url, 'add-listener', c])).stdout.trim();
    expect((await run(['send', '--url', url, 'dispatch', c, l, 'hi', '1'])).stdout.trim()).toBe('ack');
    // Another subject's token, with a grant on another channel only.
    const other = (await run(['token', '--jwt-key', pem.privateFile, '--sub', 'bo', '--grant', '999:d'])).stdout.trim();
    const refused = await run(['send', '--url', `${bare}?token=${other}`, 'dispatch', c, l, 'hi', '1']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`Forbidden('d on channel ${c}')`);
    // A token refused at the connection: the bridge's reason, as it gave it.
    const expired = await signedClaims(pem.privateKey, claims({ exp: Math.floor(Date.now() / 1000) - 60 }), {
      alg: 'ES256',
    });
    const late = await run(['send', '--url', `${bare}?token=${expired}`, 'create-channel']);
    expect([late.code, late.stderr]).toEqual([
      1,
      "BridgeRefused('The bridge refused the connection: HTTP 401 (token expired)')\n",
    ]);
  });
});

describe('SIGHUP', () => {
  /**
   * Runs `command` (`up` by default, or `bridge`) with a key file; rotates the key with SIGHUP,
   * checking the tokens before and after.
   */
  async function rotateKey(startCli: StartCli, dir: string, args: string[], command = ['up', '--port', '0']) {
    const { file } = hmacKeyFile(dir, 'the first secret of this bridge');
    const up = await startCli([...command, ...args, '--jwt-key', file], /mint one: eric-bus (.+)\n/);
    const bare = /(?:bridge at|connect to) (ws:\/\/\S+)/.exec(up.stdout())![1]!.split('?')[0]!;
    // The command the start-up line gives, as printed.
    expect(up.match![1]).toBe(`token --jwt-key ${file} --sub alice --create`);
    const mint = async () => (await run(up.match![1]!.split(' '))).stdout.trim();
    const before = await mint();
    expect(await upgrade(`${bare}?token=${before}`)).toBe('open');
    hmacKeyFile(dir, 'the second secret, rotated in');
    up.child.kill('SIGHUP');
    await until(() => up.stderr().includes('reloaded the keys'), 'the bridge to reload its keys');
    expect(await upgrade(`${bare}?token=${before}`)).toBe(401);
    expect(await upgrade(`${bare}?token=${await mint()}`)).toBe('open');
    return { up, bare, file, mint };
  }

  it('with --jwt-key rereads the key: the old key’s tokens refused, the new key’s taken, the process on', async ({
    startCli,
    dir,
  }) => {
    const { up, bare, file, mint } = await rotateKey(startCli, dir, []);
    // A key file that cannot be used leaves the keys in force.
    writeFileSync(file, '');
    up.child.kill('SIGHUP');
    await until(() => up.stderr().includes('kept the old keys'), 'the bridge to refuse the empty file');
    hmacKeyFile(dir, 'the second secret, rotated in');
    expect(await upgrade(`${bare}?token=${await mint()}`)).toBe('open');
    expect(up.child.exitCode).toBe(null);
  });

  it('up --thread: the bridge on its own thread takes signed tokens and rereads its key too', async ({
    startCli,
    dir,
  }) => {
    const { up } = await rotateKey(startCli, dir, ['--thread']);
    expect(up.child.exitCode).toBe(null);
  });

  it('eric-bus bridge with --jwt-key rereads its key too', async ({ startCli, dir }) => {
    const socket = `${dir}/bus.sock`;
    await startCli(['serve', '--socket', socket], /serving on/);
    const { up } = await rotateKey(startCli, dir, [], ['bridge', '--socket', socket, '--port', '0']);
    expect(up.child.exitCode).toBe(null);
  });

  it('without --jwt-key stops the process, as before', async ({ startCli }) => {
    const up = await startCli(['up', '--port', '0'], /bridge at (ws:\/\/\S+)/);
    up.child.kill('SIGHUP');
    expect(await up.exited).toBe(0);
  });
});
