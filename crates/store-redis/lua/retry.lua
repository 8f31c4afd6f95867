-- Queues a failed or stopped job again (job.retry), as a fresh job: its result, progress,
-- last error and count of runs are cleared, and it is no longer due for removal.
-- KEYS: job hash
-- ARGV: id, now (RFC 3339), expected owner ("" for any)
-- Returns "ok", "missing" (also when the job has another owner than the expected one), or
-- its current status when that is neither failed nor stopped.
local status, owner, runner, priority = unpack(redis.call('HMGET', KEYS[1], 'status', 'owner',
  'runner', 'priority'))
if not status or (ARGV[3] ~= '' and owner ~= ARGV[3]) then
  return 'missing'
end
if status ~= 'failed' and status ~= 'stopped' then
  return status
end
local ns = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1] - 4)
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
redis.call('ZREM', ns .. 'expiry', ARGV[1])
restatus(ns, ARGV[1], status, 'queued')
redis.call('HDEL', KEYS[1], 'result', 'completed_at', 'started_at', 'worker', 'attempt',
  'deadline', 'claimed_ms', 'progress', 'stop', 'losses', 'requeues', 'errors', 'last_error')
redis.call('HSET', KEYS[1], 'status', 'queued', 'updated_at', ARGV[2])
enqueue(ns, ARGV[1], runner, priority)
local t = redis.call('TIME')
redis.call('PUBLISH', ns .. 'changes', 'queued\n' .. (t[1] * 1000 + math.floor(t[2] / 1000)) ..
  '\n' .. ARGV[1] .. ' ' .. runner .. ' ' .. (owner or ''))
return 'ok'
