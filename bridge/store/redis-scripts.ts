/**
 * The Redis store's data model, as the Lua scripts that keep it consistent: each verb is one
 * script, so each is atomic and costs one round trip whatever the number of listeners.
 *
 * Keys (all under a prefix `P`, `eric-bus:` by default):
 * - `P next:channel`, `P next:listener`: counters (INCR), so ids are unique across servers.
 * - `P channels`: the set of channel ids.
 * - `P owners`: a hash, channel id → the owner it was created with (only channels that have one).
 * - `P c:<channel>`: the set of a channel's listener ids.
 * - `P l:<listener>`: a hash: `c` its channel, `seq` the number of its newest queued event,
 *   `cur` the newest delivered (written to a client), `cut` the newest dropped from the history,
 *   `own` the number of its newest stream (one stream per listener), `w` 1 for a watch's listener,
 *   `wb` and `wc` the history's byte window (events after `wb`, their lines `wc` bytes long).
 * - `P q:<listener>`: a Redis Stream holding the listener's history and queue at once: entry
 *   `n-0` is its n-th event (field `e`: the event's line, less its id); entries up to `cur` are
 *   the history (trimmed to the last N), the ones after it the queue. A removed listener's stream
 *   gets one last entry (fields `e` and `x`), the closed event, which ends any stream reading it.
 * - `P graces`: a sorted set of every watch's listener, scored by when it goes unless its score
 *   is moved on (times in ms, by Redis's clock, so servers' clocks do not matter): while a stream
 *   holds it, its server renews a lease (now + lease + grace) now and then; once the stream ended
 *   cleanly, now + grace. Any server's sweep removes those past their time, so the watches of a
 *   server that died go too, a lease and a grace period after its last renewal.
 * - `P waiting`: events queued and not yet delivered, over every listener (the sum of their `seq`
 *   − `cur`), kept by the scripts that change either, so the metrics read it with one GET
 *   (docs/operations.md, "Metrics").
 * - pub/sub channel `P superseded`: `<listener> <own>` when a new stream of a listener opens.
 *
 * Script errors are replies `ERIC_NOCHANNEL`, `ERIC_NOLISTENER`, `ERIC_NOWATCH`.
 */

/** How long the stream of a removed listener stays, so readers blocked on it wake to its closed event (ms). */
export const TOMBSTONE_MS = 60_000;

/**
 * Helpers the scripts share, each prepended only to the scripts that use it (a helper defined
 * but unused still costs a closure on every call, and dispatch is the hot path).
 */
const HELPERS = {
  /** Redis's clock, in ms. */
  now: `
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end`,
  /** The error code for a listener `r` that is not one of channel `c`'s (or a channel that is gone). */
  missing: `
local function missing(c)
  if redis.call('SISMEMBER', P .. 'channels', c) == 0 then return 'ERIC_NOCHANNEL' end
  return 'ERIC_NOLISTENER'
end`,
  /** Removes listener `r`: its keys go, and its stream gets the closed event as a last entry. */
  drop: `
local function drop(r, closed)
  local l = P .. 'l:' .. r
  local n = redis.call('HINCRBY', l, 'seq', 1)
  local m = redis.call('HMGET', l, 'c', 'cur')
  local c = m[1]
  redis.call('DECRBY', P .. 'waiting', n - 1 - tonumber(m[2] or n - 1))
  redis.call('DEL', l)
  if c then redis.call('SREM', P .. 'c:' .. c, r) end
  redis.call('ZREM', P .. 'graces', r)
  local q = P .. 'q:' .. r
  redis.call('XTRIM', q, 'MAXLEN', 0)
  redis.call('XADD', q, n, 'e', closed, 'x', '1')
  redis.call('PEXPIRE', q, ${TOMBSTONE_MS})
end`,
} as const;

/** The scripts, by command name: `numberOfKeys` 0, every argument in ARGV (prefix first). */
export const SCRIPTS = {
  /** (owner, '' for none) → the new channel id. */
  ericCreate: `
local id = redis.call('INCR', P .. 'next:channel')
redis.call('SADD', P .. 'channels', id)
if ARGV[2] ~= '' then redis.call('HSET', P .. 'owners', id, ARGV[2]) end
return tostring(id)`,

  /** (c) → the channel's owner, '' for none. */
  ericOwner: `
local c = ARGV[2]
if redis.call('SISMEMBER', P .. 'channels', c) == 0 then return redis.error_reply('ERIC_NOCHANNEL') end
return redis.call('HGET', P .. 'owners', c) or ''`,

  /**
   * (c, watch 0|1, ttl ms) → the new listener id. A watch's listener goes after `ttl` unless a
   * stream holds it by then (its server may die before opening one).
   */
  ericRegister: `
local c, w = ARGV[2], ARGV[3]
if redis.call('SISMEMBER', P .. 'channels', c) == 0 then return redis.error_reply('ERIC_NOCHANNEL') end
local id = tostring(redis.call('INCR', P .. 'next:listener'))
redis.call('SADD', P .. 'c:' .. c, id)
redis.call('HSET', P .. 'l:' .. id, 'c', c, 'seq', 0, 'cur', 0, 'cut', 0, 'own', 0, 'w', w)
if w == '1' then redis.call('ZADD', P .. 'graces', now() + tonumber(ARGV[4]), id) end
return id`,

  /** (c, r, line) → the event's number. */
  ericDispatch: `
local c, r = ARGV[2], ARGV[3]
local l = P .. 'l:' .. r
if redis.call('HGET', l, 'c') ~= c then return redis.error_reply(missing(c)) end
redis.call('XADD', P .. 'q:' .. r, redis.call('HINCRBY', l, 'seq', 1), 'e', ARGV[4])
redis.call('INCR', P .. 'waiting')
return 1`,

  /** (c, line) → how many listeners it reached. */
  ericBroadcast: `
local c, line = ARGV[2], ARGV[3]
if redis.call('SISMEMBER', P .. 'channels', c) == 0 then return redis.error_reply('ERIC_NOCHANNEL') end
local ids = redis.call('SMEMBERS', P .. 'c:' .. c)
for _, r in ipairs(ids) do
  redis.call('XADD', P .. 'q:' .. r, redis.call('HINCRBY', P .. 'l:' .. r, 'seq', 1), 'e', line)
end
redis.call('INCRBY', P .. 'waiting', #ids)
return #ids`,

  /** (c, r, closed line) → 1. */
  ericRemoveListener: `
local c, r = ARGV[2], ARGV[3]
if redis.call('HGET', P .. 'l:' .. r, 'c') ~= c then return redis.error_reply(missing(c)) end
drop(r, ARGV[4])
return 1`,

  /** (c, closed line) → 1. */
  ericRemoveChannel: `
local c = ARGV[2]
if redis.call('SISMEMBER', P .. 'channels', c) == 0 then return redis.error_reply('ERIC_NOCHANNEL') end
for _, r in ipairs(redis.call('SMEMBERS', P .. 'c:' .. c)) do drop(r, ARGV[3]) end
redis.call('DEL', P .. 'c:' .. c)
redis.call('SREM', P .. 'channels', c)
redis.call('HDEL', P .. 'owners', c)
return 1`,

  /**
   * (c, r, watch-only 0|1, ttl ms) → {own, cur, cut, seq, watch 0|1}: a new stream of the listener,
   * which supersedes (and tells) any older one; a watch's listener now goes after `ttl` (the
   * lease and the grace period) unless the stream's server renews it.
   */
  ericOpen: `
local c, r = ARGV[2], ARGV[3]
local l = P .. 'l:' .. r
if redis.call('HGET', l, 'c') ~= c then return redis.error_reply(missing(c)) end
local w = redis.call('HGET', l, 'w') == '1'
if ARGV[4] == '1' and not w then return redis.error_reply('ERIC_NOWATCH') end
local own = redis.call('HINCRBY', l, 'own', 1)
if w then redis.call('ZADD', P .. 'graces', now() + tonumber(ARGV[5]), r) end
redis.call('PUBLISH', P .. 'superseded', r .. ' ' .. own)
local m = redis.call('HMGET', l, 'cur', 'cut', 'seq')
return {own, tonumber(m[1]), tonumber(m[2]), tonumber(m[3]), w and 1 or 0}`,

  /**
   * (ttl ms, r1, own1, r2, own2, …) → how many it renewed: the open streams of one server keep
   * their watches' listeners for another `ttl`. Only while each stream still owns its listener:
   * one that was removed, or that a newer stream took over, is left as it is (never resurrected).
   */
  ericRenew: `
local at = now() + tonumber(ARGV[2])
local renewed = 0
for i = 3, #ARGV - 1, 2 do
  local r = ARGV[i]
  if redis.call('HGET', P .. 'l:' .. r, 'own') == ARGV[i + 1] then
    redis.call('ZADD', P .. 'graces', at, r)
    renewed = renewed + 1
  end
end
return renewed`,

  /**
   * (r, own, to, history, bytes, window) → 1, 0 when a newer stream owns the listener, -1 when it
   * is gone: events up to number \`to\` were delivered (their lines \`bytes\` long); the history
   * keeps the last \`history\` of them and, besides, those of the newest \`window\` bytes: the byte
   * window, events \`wb\` + 1 … \`cur\` whose lines are \`wc\` bytes, the oldest leaving it first (each
   * read once, when it leaves).
   */
  ericAdvance: `
local r, own, to, keep = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local bytes, window = tonumber(ARGV[6]), tonumber(ARGV[7])
local l = P .. 'l:' .. r
local m = redis.call('HMGET', l, 'own', 'cur', 'cut', 'wb', 'wc')
if not m[1] then return -1 end
if tonumber(m[1]) ~= own then return 0 end
if to > tonumber(m[2]) then
  redis.call('HSET', l, 'cur', to)
  redis.call('DECRBY', P .. 'waiting', to - tonumber(m[2]))
end
local newest = to
if window > 0 and keep > 0 then
  local q, wb, wc = P .. 'q:' .. r, tonumber(m[4]) or 0, (tonumber(m[5]) or 0) + bytes
  while wc > window and wb < to do
    local entries = redis.call('XRANGE', q, wb + 1, to, 'COUNT', 64)
    if #entries == 0 then wb, wc = to, 0 break end
    for _, entry in ipairs(entries) do
      wc = wc - string.len(entry[2][2])
      wb = tonumber(string.match(entry[1], '^%d+'))
      if wc <= window then break end
    end
  end
  if wc < 0 then wc = 0 end
  redis.call('HSET', l, 'wb', wb, 'wc', wc)
  newest = wb
end
local cut = newest - keep
if cut > tonumber(m[3]) then
  redis.call('XTRIM', P .. 'q:' .. r, 'MINID', cut + 1)
  redis.call('HSET', l, 'cut', cut)
end
return 1`,

  /** (c, r, own) → 1 while the stream still owns the listener, 0 when superseded, -1 when it is gone. */
  ericStatus: `
local c, r, own = ARGV[2], ARGV[3], tonumber(ARGV[4])
local m = redis.call('HMGET', P .. 'l:' .. r, 'c', 'own')
if m[1] ~= c then return -1 end
if tonumber(m[2]) ~= own then return 0 end
return 1`,

  /**
   * (r, own, grace ms, closed line) → 1: a watch's stream ended; unless a newer one owns it, its
   * listener goes after the grace period (at once with 0).
   */
  ericRelease: `
local r, own, grace = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if tonumber(redis.call('HGET', P .. 'l:' .. r, 'own')) ~= own then return 0 end
if grace == 0 then drop(r, ARGV[5]) return 1 end
redis.call('ZADD', P .. 'graces', now() + grace, r)
return 1`,

  /**
   * (closed line, limit) → how many watch listeners whose time is over (grace period, or lease and
   * grace period of a stream whose server stopped renewing it) it removed (at most limit).
   */
  ericSweep: `
local due = redis.call('ZRANGEBYSCORE', P .. 'graces', '-inf', now(), 'LIMIT', 0, tonumber(ARGV[3]))
for _, r in ipairs(due) do
  if redis.call('EXISTS', P .. 'l:' .. r) == 1 then drop(r, ARGV[2]) else redis.call('ZREM', P .. 'graces', r) end
end
return #due`,
} as const;

/** The name of a script command. */
export type ScriptName = keyof typeof SCRIPTS;

/** The full Lua source of a script: the key prefix (ARGV[1]), the helpers it uses, then its body. */
export function scriptSource(name: ScriptName): string {
  const body: string = SCRIPTS[name];
  const helpers = Object.entries(HELPERS).filter(([helper]) => body.includes(`${helper}(`));
  return `local P = ARGV[1]${helpers.map(([, source]) => source).join('')}${body}`;
}
