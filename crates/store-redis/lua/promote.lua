-- Queues the scheduled jobs whose time has come: at most ARGV[3] of the earliest due in
-- {ns}scheduled (scored by due time, Redis clock ms), each moved to its runner's queue as
-- start.lua does. Safe to run from several supervisors at once: a job leaves the set and
-- changes status in this one step, so it is queued once.
-- KEYS: scheduled set
-- ARGV: job key prefix, now (RFC 3339), most jobs
-- Returns {jobs queued, due time (ms) of the earliest job still scheduled, or ""}.
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local ns = string.sub(ARGV[1], 1, #ARGV[1] - 4)
-- Moves a job between the status indexes ({ns}idx:status:<status>), keeping its creation
-- time (ms, the jobs index's score) as its score there.
local function restatus(ns, id, from, to)
  local score = redis.call('ZSCORE', ns .. 'jobs', id)
  redis.call('ZREM', ns .. 'idx:status:' .. from, id)
  if score then
    redis.call('ZADD', ns .. 'idx:status:' .. to, score, id)
  end
end
-- Puts a job on its runner's queue (see docs/runner-protocol.md, "Priorities"): priority 0
-- on the list {ns}queue:<runner>, pushed on the left; a higher one in the sorted set
-- {ns}pqueue:<runner>, scored so that the highest priority, then the first queued, comes
-- first, with a wake marker on the list when that is empty, so a runner blocked on it wakes.
local function enqueue(ns, id, runner, priority)
  local p = tonumber(priority or '0') or 0
  local queue = ns .. 'queue:' .. runner
  if p <= 0 then
    redis.call('LPUSH', queue, id)
    return
  end
  local seq = redis.call('INCR', ns .. 'pseq')
  redis.call('ZADD', ns .. 'pqueue:' .. runner, string.format('%.0f', (10 - p) * 1e13 + seq), id)
  if redis.call('LLEN', queue) == 0 then
    redis.call('LPUSH', queue, '!wake')
  end
end
local changed = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0,
    tonumber(ARGV[3]))) do
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[1] .. id
  local state = redis.call('HMGET', key, 'status', 'runner', 'priority', 'owner')
  -- Anything else was stopped, ended or deleted meanwhile: its entry is stale.
  if state[1] == 'scheduled' then
    restatus(ns, id, 'scheduled', 'queued')
    redis.call('HSET', key, 'status', 'queued', 'updated_at', ARGV[2])
    enqueue(ns, id, state[2], state[3])
    changed[#changed + 1] = id .. ' ' .. state[2] .. ' ' .. (state[4] or '')
  end
end
-- Tells watchers, in one message for the batch (see docs/runner-protocol.md, "Job changes").
if #changed > 0 then
  redis.call('PUBLISH', ns .. 'changes', 'queued\n' .. now_ms .. '\n' ..
    table.concat(changed, '\n'))
end
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {#changed, next[2] or ''}
