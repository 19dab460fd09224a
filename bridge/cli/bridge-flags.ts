/** The bridge's command-line flags, shared by `eric-bus bridge` and `eric-bus up`. */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { isVerb, VERBS, type Verb } from '../../src/wire/socket-protocol.js';
import { keyFileContent } from '../access/keys.js';
import type { JwtOptions } from '../access/tokens.js';
import { StartError, UsageError } from '../errors.js';
import type { BridgeOptions, BridgeTls } from '../websocket/bridge.js';
import { nonNegativeInt, portArg, positiveInt, stringFlags } from './args.js';

/** The port both commands use when `--port` is not given. */
export const DEFAULT_PORT = 8765;

/** The environment variable the token is read from when no flag gives it. */
export const TOKEN_ENV = 'ERIC_BUS_TOKEN';

/** The flags' `--help` lines. */
export const BRIDGE_FLAGS_USAGE = `  --port N            TCP port (default ${DEFAULT_PORT}; 0 picks a free one)
  --host H            interface to listen on (default 127.0.0.1)
  --token-file FILE   read the shared token from FILE (its first line); or set it in
                      the environment as ${TOKEN_ENV} (default: a random one, printed)
  --token T           the token itself; other local users can read it in the process
                      list, so prefer --token-file or ${TOKEN_ENV}
                      either flag wins over ${TOKEN_ENV}; the two flags together are refused
  --origin O          an allowed page origin; repeat for more, '*' for any
                      (default: localhost, 127.0.0.1 and [::1] on any port)
  --allow VERBS       comma-separated verbs to forward, e.g. l,w for a read-only
                      bridge (default: all of ${VERBS.join(',')})
  --max-frame BYTES   largest client frame (default 1048576)
  --max-streams N     open streams per WebSocket (default 100)
  --tls-cert FILE     serve wss:// with this certificate (PEM; with --tls-key)
  --tls-key FILE      the certificate's private key (PEM); like --token-file, warned
                      about when other users may read it
  --jwt-key FILE      also accept signed tokens (JWT) that grant channels and verbs,
                      checked with FILE: a PEM key, a JWKS (keys chosen by kid), else
                      an HMAC secret (the file less one trailing newline); SIGHUP
                      rereads it (without --jwt-key, SIGHUP stops the process)
  --jwt-issuer ISS    signed tokens must carry this iss
  --jwt-audience AUD  signed tokens must carry this aud
  --jwt-leeway S      seconds of clock skew allowed on exp and nbf (default 0)
  --verbose           log connections and refusals to stderr
  -h, --help          show this help`;

/** parseCommandArgs options for the bridge flags. */
export const bridgeFlagOptions = {
  ...stringFlags('port', 'host', 'token', 'token-file', 'allow', 'max-frame', 'max-streams', 'tls-cert', 'tls-key'),
  ...stringFlags('jwt-key', 'jwt-issuer', 'jwt-audience', 'jwt-leeway'),
  origin: { type: 'string', multiple: true },
  verbose: { type: 'boolean' },
} as const;

/** The parsed values of the bridge flags. */
export interface BridgeFlagValues {
  port?: string;
  host?: string;
  token?: string;
  'token-file'?: string;
  origin?: string[];
  allow?: string;
  'max-frame'?: string;
  'max-streams'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'jwt-key'?: string;
  'jwt-issuer'?: string;
  'jwt-audience'?: string;
  'jwt-leeway'?: string;
}

/** Where {@link bridgeOptionsFromFlags} reads the environment and says what is worth a warning. */
export interface FlagContext {
  /** The command, to name on its warnings (`eric-bus up`). */
  program: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Turns the parsed flags into bridge options; a bad value throws a {@link UsageError}, a
 * certificate or token file that cannot be read (or used) a {@link StartError}. The token comes
 * from `--token` or `--token-file` (not both), else {@link TOKEN_ENV} in `env`: a flag is the more
 * deliberate choice, as with most tools, so it wins over an environment variable left set.
 */
export function bridgeOptionsFromFlags(
  values: BridgeFlagValues,
  { program, env = process.env }: FlagContext,
): Omit<BridgeOptions, 'socketPath' | 'logger'> {
  const options: Omit<BridgeOptions, 'socketPath' | 'logger'> = {
    port: portArg(values.port, '--port') ?? DEFAULT_PORT,
  };
  if (values.host !== undefined) options.host = values.host;
  const token = tokenFrom(values, env, program);
  if (token !== undefined) options.token = token;
  if (values.origin !== undefined) options.origins = values.origin;
  if (values.allow !== undefined) options.allow = verbs(values.allow);
  const maxFrame = positiveInt(values['max-frame'], '--max-frame');
  if (maxFrame !== undefined) options.maxFrameBytes = maxFrame;
  const maxStreams = positiveInt(values['max-streams'], '--max-streams');
  if (maxStreams !== undefined) options.maxStreams = maxStreams;
  const tls = tlsFromFlags(values['tls-cert'], values['tls-key'], program);
  if (tls) options.tls = tls;
  const jwt = jwtFromFlags(values);
  if (jwt) options.jwt = jwt;
  return options;
}

/** The signed tokens' settings; `--jwt-issuer`, `--jwt-audience` and `--jwt-leeway` need `--jwt-key`. */
function jwtFromFlags(values: BridgeFlagValues): JwtOptions | undefined {
  const keyFile = values['jwt-key'];
  const leeway = nonNegativeInt(values['jwt-leeway'], '--jwt-leeway');
  if (keyFile === undefined) {
    const given = (['jwt-issuer', 'jwt-audience', 'jwt-leeway'] as const).find((flag) => values[flag] !== undefined);
    if (given) throw new UsageError(`--${given} checks signed tokens: it needs --jwt-key`);
    return undefined;
  }
  const jwt: JwtOptions = { keyFile };
  if (values['jwt-issuer'] !== undefined) jwt.issuer = values['jwt-issuer'];
  if (values['jwt-audience'] !== undefined) jwt.audience = values['jwt-audience'];
  if (leeway !== undefined) jwt.leewaySeconds = leeway;
  return jwt;
}

/**
 * With `--jwt-key`, the start-up line that says signed tokens are taken and how to mint one: with
 * the same file for an HMAC secret; a public key or a JWKS verifies, so minting needs its private key.
 */
export function signedTokensBanner(values: BridgeFlagValues): string[] {
  const file = values['jwt-key'];
  if (file === undefined) return [];
  let secret = true;
  try {
    secret = keyFileContent(readFileSync(file)).kind === 'hmac';
  } catch {} // read at start already: gone since, the line still says which file
  const mint = `eric-bus token --jwt-key ${secret ? file : 'PRIVATE_KEY_FILE'} --sub alice --create`;
  return [
    secret
      ? `takes signed tokens (HS256, secret in ${file}); mint one: ${mint}`
      : `takes signed tokens verified with ${file}; mint one with its private key: ${mint}`,
  ];
}

/**
 * What SIGHUP does for a bridge given these flags: with `--jwt-key`, reread the key file (saying so
 * on stderr, or why the old keys stay); without it, nothing here (SIGHUP then stops the process).
 */
export function reloadOnHangup(
  values: BridgeFlagValues,
  program: string,
  bridge: () => { reloadKeys(): Promise<void> } | undefined,
): (() => void) | undefined {
  const file = values['jwt-key'];
  if (file === undefined) return undefined;
  return () => {
    const running = bridge();
    if (!running) return;
    running.reloadKeys().then(
      () => process.stderr.write(`${program}: reloaded the keys of --jwt-key ${file}\n`),
      (error: unknown) =>
        process.stderr.write(
          `${program}: warning: kept the old keys: ${error instanceof Error ? error.message : String(error)}\n`,
        ),
    );
  };
}

function tokenFrom(values: BridgeFlagValues, env: NodeJS.ProcessEnv, program: string): string | undefined {
  if (values.token !== undefined && values['token-file'] !== undefined)
    throw new UsageError('--token and --token-file both give the token: keep one of them');
  let token: string | undefined;
  let from: string;
  if (values.token !== undefined) [token, from] = [values.token, '--token'];
  else if (values['token-file'] !== undefined) {
    const file = values['token-file'];
    const { text, mode } = readFlagFile(file, '--token-file');
    [token, from] = [text.split(/\r?\n/, 1)[0]!.trim(), '--token-file'];
    if (token !== '') warnIfOpen(file, mode, '--token-file', program);
  } else [token, from] = [env[TOKEN_ENV], TOKEN_ENV];
  if (token === '') throw new UsageError(`${from} gives an empty token`);
  return token;
}

/**
 * Warns when a file holding a secret (the token, the TLS key) is open to other users: as ssh does
 * for a private key, worth saying, though not fatal. Called once the file is known to be usable.
 */
function warnIfOpen(file: string, mode: number, flag: string, program: string): void {
  if ((mode & 0o077) === 0) return;
  process.stderr.write(
    `${program}: warning: ${flag} ${file} is open to other users (mode ${octal(mode)}); chmod 600 ${file}\n`,
  );
}

/** A permission mode as `ls` and chmod write it: `0644`. */
function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/**
 * A file a flag names, as text, with its permission bits (of the file opened, so of what was read
 * even if the path changes meanwhile); one that cannot be read stops the start.
 */
function readFlagFile(file: string, flag: string): { text: string; mode: number } {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    return { text: readFileSync(fd, 'utf8'), mode: fstatSync(fd).mode };
  } catch (error) {
    throw new StartError(`cannot read ${flag} ${file}: ${(error as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Reads the certificate and key, and checks that they make a usable pair before anything starts. */
function tlsFromFlags(
  certFile: string | undefined,
  keyFile: string | undefined,
  program: string,
): BridgeTls | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new UsageError('--tls-cert and --tls-key go together');
  const key = readFlagFile(keyFile, '--tls-key');
  const tls = { cert: readFlagFile(certFile, '--tls-cert').text, key: key.text };
  try {
    createSecureContext(tls);
  } catch (error) {
    const why = (error as Error).message;
    throw new StartError(`--tls-cert ${certFile} and --tls-key ${keyFile} are not a certificate and its key (${why})`);
  }
  warnIfOpen(keyFile, key.mode, '--tls-key', program);
  return tls;
}

function verbs(text: string): Verb[] {
  const list = text
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  const unknown = list.filter((v) => !isVerb(v));
  if (unknown.length > 0)
    throw new UsageError(`--allow: unknown verb(s) ${unknown.join(', ')} (verbs: ${VERBS.join(', ')})`);
  return list.filter(isVerb);
}
