-- Queues a created job, or schedules it when its due time is still to come.
-- KEYS: job hash
-- ARGV: id, now (RFC 3339), queue key prefix, expected owner ("" for any)
-- Returns "ok", "missing" (also when the job has another owner than the expected one, so a
-- job created again under the id by someone else is never touched), or its current status.
local status, owner = unpack(redis.call('HMGET', KEYS[1], 'status', 'owner'))
if not status or (ARGV[4] ~= '' and owner ~= ARGV[4]) then
  return 'missing'
end
if status ~= 'created' then
  return status
end
-- Moves a job between the status indexes ({ns}idx:status:<status>), keeping its creation
-- time (ms, the jobs index's score) as its score there.
local function restatus(ns, id, from, to)
  local score = redis.call('ZSCORE', ns .. 'jobs', id)
  redis.call('ZREM', ns .. 'idx:status:' .. from, id)
  if score then
    redis.call('ZADD', ns .. 'idx:status:' .. to, score, id)
  end
end
-- Puts a job in {ns}scheduled, due at `due` (ms); when it is now the earliest there, tells
-- the supervisors' promoters on the events channel, so they wake before they had planned.
local function schedule(ns, id, due)
  redis.call('ZADD', ns .. 'scheduled', due, id)
  if redis.call('ZRANGE', ns .. 'scheduled', 0, 0)[1] == id then
    redis.call('PUBLISH', ns .. 'events', '\nscheduled')
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
local ns = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1] - 4)
local runner, priority, due = unpack(redis.call('HMGET', KEYS[1], 'runner', 'priority', 'due'))
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local next = 'queued'
if due and tonumber(due) > now_ms then
  next = 'scheduled'
  schedule(ns, ARGV[1], due)
else
  enqueue(ns, ARGV[1], runner, priority)
end
restatus(ns, ARGV[1], 'created', next)
redis.call('HSET', KEYS[1], 'status', next, 'updated_at', ARGV[2])
-- Tells watchers (see docs/runner-protocol.md, "Job changes").
redis.call('PUBLISH', ns .. 'changes', next .. '\n' .. now_ms .. '\n' .. ARGV[1] .. ' ' ..
  runner .. ' ' .. (owner or ''))
return 'ok'
