/**
 * The work queue's data model in Redis (docs/workers.md, "Work across processes"), and the Lua
 * scripts that change it, each in one round trip and atomically:
 *
 * - `<name>`: the Redis Stream of messages to run, fields `id`, `type`, `payload` (JSON, absent
 *   for none), `origin` (the dispatching process, '' for none) and `route` (its listener), read
 *   by the consumer group `eric-bus`; an entry leaves once its result is stored.
 * - `<name>:results:<origin>`: each dispatching process's outcomes, `id`, `route`, and `data`
 *   (JSON) or `error`; read and deleted by that process, gone a day after the last one otherwise.
 * - `<name>:errors`: a hash, message id → the last error its handler threw.
 * - `<name>:dead`: the dead letters, `id`, `type`, `payload`, `error`, `deliveries`.
 *
 * Every script takes the queue's name first and the group second.
 */

/** The consumer group every process of a queue joins. */
export const QUEUE_GROUP = 'eric-bus';

/** How long a dispatching process's results stay in Redis after the last one, when it does not read them (ms). */
export const RESULTS_TTL_MS = 24 * 60 * 60 * 1000;

const HELPERS = {
  fieldsOf: `
local function fieldsOf(flat)
  local f = {}
  for j = 1, #flat, 2 do f[flat[j]] = flat[j + 1] end
  return f
end
`,
  // An outcome for the process that dispatched the message (none: nobody waits for it).
  tell: `
local function tell(f, ...)
  if f.origin == nil or f.origin == '' then return end
  local key = N .. ':results:' .. f.origin
  redis.call('XADD', key, '*', 'id', f.id, 'route', f.route, ...)
  redis.call('PEXPIRE', key, TTL)
end
`,
  // Moves a message that will not get a result to the dead letters, and tells its dispatcher.
  deadLetter: `
local function deadLetter(entry, f, deliveries, err)
  redis.call('XADD', N .. ':dead', '*', 'id', f.id, 'type', f.type, 'payload', f.payload or 'null',
    'error', err, 'deliveries', deliveries)
  redis.call('XACK', N, G, entry)
  redis.call('XDEL', N, entry)
  redis.call('HDEL', N .. ':errors', f.id)
  tell(f, 'error', err)
end
`,
};

export const QUEUE_SCRIPTS = {
  // ARGV after the name, group and TTL: (entry, id, origin, route, data) for each message, data ''
  // for none. Stores the result and acknowledges in one step; a message another process finished
  // already gets nothing more.
  queueDone: `
for i = 4, #ARGV, 5 do
  local entry, data = ARGV[i], ARGV[i + 4]
  if redis.call('XACK', N, G, entry) == 1 then
    local f = { id = ARGV[i + 1], origin = ARGV[i + 2], route = ARGV[i + 3] }
    redis.call('XDEL', N, entry)
    redis.call('HDEL', N .. ':errors', f.id)
    if data == '' then tell(f) else tell(f, 'data', data) end
  end
end
return 0
`,
  // ARGV after the name, group and TTL: the consumer, maxDeliveries, then (entry, error) pairs.
  // A failed delivery: the last one dead-letters the message; before that the error is kept and
  // the message stays this consumer's, idle from now, so any process takes it after visibilityMs.
  queueFail: `
local consumer, max = ARGV[4], tonumber(ARGV[5])
for i = 6, #ARGV, 2 do
  local entry, err = ARGV[i], ARGV[i + 1]
  local pending = redis.call('XPENDING', N, G, entry, entry, 1)
  local found = redis.call('XRANGE', N, entry, entry)
  if #pending > 0 and #found > 0 then
    local f = fieldsOf(found[1][2])
    if pending[1][4] >= max then
      deadLetter(entry, f, pending[1][4], err)
    else
      redis.call('HSET', N .. ':errors', f.id, err)
      redis.call('XCLAIM', N, G, consumer, 0, entry, 'JUSTID')
    end
  elseif #pending > 0 then
    redis.call('XACK', N, G, entry)
  end
end
return 0
`,
  // ARGV after the name, group and TTL: the consumer, maxDeliveries, the idle time, the cursor and
  // a count. Takes messages idle that long (their process died, or a delivery failed); one past
  // its last delivery goes to the dead letters. Returns the next cursor, then (entry, deliveries,
  // fields) for each message taken.
  queueReclaim: `
local consumer, max = ARGV[4], tonumber(ARGV[5])
local claimed = redis.call('XAUTOCLAIM', N, G, consumer, ARGV[6], ARGV[7], 'COUNT', ARGV[8])
local out = { claimed[1] }
for _, e in ipairs(claimed[2]) do
  if e then
    local entry, flat = e[1], e[2]
    local n = redis.call('XPENDING', N, G, entry, entry, 1)[1][4]
    if n > max then
      local f = fieldsOf(flat)
      local err = redis.call('HGET', N .. ':errors', f.id) or
        ('delivered ' .. (n - 1) .. ' times without a result: the process running it stopped')
      deadLetter(entry, f, n - 1, err)
    else
      table.insert(out, entry)
      table.insert(out, n)
      table.insert(out, flat)
    end
  end
end
return out
`,
  // ARGV after the name, group and TTL: a dead letter's entry. Puts its message back on the queue,
  // with the same id and a new count of deliveries; its result goes to no process. 1 if it was there.
  queueRedispatch: `
local found = redis.call('XRANGE', N .. ':dead', ARGV[4], ARGV[4])
if #found == 0 then return 0 end
local f = fieldsOf(found[1][2])
redis.call('XADD', N, '*', 'id', f.id, 'type', f.type, 'payload', f.payload, 'origin', '', 'route', '')
redis.call('XDEL', N .. ':dead', ARGV[4])
return 1
`,
} as const;

export type QueueScriptName = keyof typeof QUEUE_SCRIPTS;

/** The Lua source of script `name`: the arguments every script takes, the helpers it uses, its body. */
export function queueScriptSource(name: QueueScriptName): string {
  const body: string = QUEUE_SCRIPTS[name];
  // Helpers use one another (deadLetter tells): take them in their order when any later one needs them.
  let needed = Object.entries(HELPERS).filter(([helper]) => body.includes(`${helper}(`));
  if (needed.some(([helper]) => helper === 'deadLetter' || helper === 'tell'))
    needed = Object.entries(HELPERS).filter(([helper]) => helper !== 'deadLetter' || body.includes('deadLetter('));
  return `local N, G, TTL = ARGV[1], ARGV[2], ARGV[3]${needed.map(([, source]) => source).join('')}${body}`;
}
