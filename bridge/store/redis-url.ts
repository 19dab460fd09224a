/** Redis URLs as they may be shown: in messages, logs and the commands' output. Loads no Redis client. */

const MASK = '***';

/**
 * Checks that `url` is a Redis URL's text: JavaScript callers (an unset environment variable, say)
 * get a TypeError naming `user`, not a failure deep inside.
 */
export function checkRedisUrl(url: unknown, user: string): asserts url is string {
  if (typeof url !== 'string' || url.trim() === '')
    throw new TypeError(`${user} needs a Redis URL (redis://host:port), not ${JSON.stringify(url) ?? String(url)}`);
}

/**
 * `url` with its password masked: the user info's (`redis://alice:***@host`, `redis://:***@host`)
 * and a `password` query parameter's, which ioredis also takes. The URL is read as ioredis reads
 * it (WHATWG URL, `redis://` assumed without a scheme), so what it would send as a password is what
 * is hidden; text that does not parse loses everything up to its last `@`. A URL without a password
 * is returned as it was given.
 */
export function redactRedisUrl(url: string): string {
  const assumed = /^[a-z][a-z\d+.-]*:\/\//i.test(url) ? '' : url.startsWith('//') ? 'redis:' : 'redis://';
  let parsed: URL;
  try {
    parsed = new URL(assumed + url);
  } catch {
    return url.replace(/^([a-z][a-z\d+.-]*:\/\/)?[\s\S]*@/i, `$1${MASK}@`);
  }
  const inUserInfo = parsed.password !== '';
  const inQuery = parsed.searchParams.has('password');
  if (!inUserInfo && !inQuery) return url;
  if (inUserInfo) parsed.password = MASK;
  if (inQuery) parsed.searchParams.set('password', MASK);
  return parsed.href.slice(assumed.length);
}

/** How a server's start-up line says where its channels are: ` (channels in redis://:***@host)`, or '' in memory. */
export function channelsIn(redisUrl: string | undefined): string {
  return redisUrl === undefined ? '' : ` (channels in ${redactRedisUrl(redisUrl)})`;
}
