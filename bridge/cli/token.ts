/** `eric-bus token`: prints a signed token that grants channels and verbs, for scripts and tests. */
import { readKeyFile } from '../access/keys.js';
import { DEFAULT_TTL_SECONDS, signToken, type TokenGrants } from '../access/sign.js';
import { UsageError } from '../errors.js';
import { parseCommandArgs, required } from './args.js';
import type { Subcommand } from './command.js';

export const token: Subcommand = {
  summary: 'print a signed token (JWT) that grants channels and verbs',
  usage: `Usage: eric-bus token --jwt-key FILE [--sub S] [--create] [--grant C:VERBS[:LISTENERS]]...
                     [--ttl N[s|m|h|d]]

Prints a signed token alone on stdout, for a bridge started with the same --jwt-key (an HMAC
secret signs HS256; a private PEM key signs with its algorithm, and the bridge takes its public key).

Options:
  --jwt-key FILE      the key to sign with: a PEM private key, or an HMAC secret (the file
                      less one trailing newline)
  --sub S             the subject: channels created with the token belong to it
  --create            the token may create channels
  --grant C:VERBS[:LISTENERS]
                      on channel C (or '*': every channel) the comma-separated VERBS
                      ('*': all), and if LISTENERS is given, d, l and rl only on those
                      comma-separated listener ids; repeat for more channels
  --ttl N[s|m|h|d]    how long it is valid (default ${DEFAULT_TTL_SECONDS / 3600}h; a bare N is seconds)
  -h, --help          show this help`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      'jwt-key': { type: 'string' },
      sub: { type: 'string' },
      create: { type: 'boolean' },
      grant: { type: 'string', multiple: true },
      ttl: { type: 'string' },
    });
    const key = await readKeyFile(required(values['jwt-key'], '--jwt-key'));
    const grants = grantsFrom(values.grant ?? [], values.create ?? false);
    const request = {
      grants,
      ttlSeconds: values.ttl === undefined ? DEFAULT_TTL_SECONDS : ttlSeconds(values.ttl),
      ...(values.sub === undefined ? {} : { sub: values.sub }),
    };
    let signed: string;
    try {
      signed = await signToken(key, request);
    } catch (error) {
      if (error instanceof TypeError) throw new UsageError(`--grant: ${error.message}`);
      throw error;
    }
    console.log(signed);
    return 0;
  },
};

/** The `eric` claim of the `--grant` flags: several on one channel add up. */
function grantsFrom(flags: readonly string[], create: boolean): TokenGrants {
  const channels: Record<string, string[]> = {};
  const listeners: Record<string, string[]> = {};
  for (const flag of flags) {
    const [channel, verbs, only, ...rest] = flag.split(':');
    if (!channel || !verbs || rest.length > 0 || only === '')
      throw new UsageError(`--grant takes C:VERBS[:LISTENERS] (e.g. 7:l,w,d or '*:b'), not '${flag}'`);
    channels[channel] = [...(channels[channel] ?? []), ...list(verbs)];
    if (only !== undefined) listeners[channel] = [...(listeners[channel] ?? []), ...list(only)];
  }
  return {
    ...(create ? { create } : {}),
    channels: channels as TokenGrants['channels'],
    ...(Object.keys(listeners).length > 0 ? { listeners } : {}),
  };
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `--ttl N[s|m|h|d]` in seconds. */
function ttlSeconds(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  const n = match ? Number(match[1]) * UNIT_SECONDS[match[2] || 's']! : 0;
  if (!(n > 0 && Number.isSafeInteger(n))) throw new UsageError(`--ttl takes N[s|m|h|d] (e.g. 15m), not '${text}'`);
  return n;
}
