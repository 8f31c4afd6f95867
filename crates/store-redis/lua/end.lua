-- Ends a job (timeout, forced stop) when its status may become the asked one; any other job,
-- a final one included, is left as it is. The statuses it may end from are the caller's
-- (JobStatus::can_become in crates/job/src/status.rs), so the rule lives in one place.
-- KEYS: job hash
-- ARGV: id, status, result json, now (RFC 3339), events channel, queue key prefix,
--       in-flight key prefix, then each status the job may end from
-- Returns 1, or 0 when the job does not exist.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return 0
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
-- Schedules a job that just became final for removal: its deadline (Redis ms) in
-- {ns}expiry is now plus the retention of its status, read from {ns}retention (ms per
-- status, written by the supervisor) or the defaults (1 day completed, 7 days otherwise)
-- when absent.
local function retain(ns, id, status)
  local defaults = {completed = 86400000, failed = 604800000, stopped = 604800000}
  local keep = tonumber(redis.call('HGET', ns .. 'retention', status) or '') or defaults[status]
  if not keep then
    return
  end
  local t = redis.call('TIME')
  redis.call('ZADD', ns .. 'expiry', t[1] * 1000 + math.floor(t[2] / 1000) + keep, id)
end
local allowed = false
for i = 8, #ARGV do
  if ARGV[i] == status then
    allowed = true
  end
end
if allowed then
  local ns = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1] - 4)
  if status == 'queued' then
    local runner = redis.call('HGET', KEYS[1], 'runner')
    redis.call('LREM', ARGV[6] .. runner, 1, ARGV[1])
    redis.call('ZREM', ns .. 'pqueue:' .. runner, ARGV[1])
  elseif status == 'scheduled' then
    redis.call('ZREM', ns .. 'scheduled', ARGV[1])
  elseif status == 'running' then
    redis.call('LREM', ARGV[7] .. redis.call('HGET', KEYS[1], 'worker'), 1, ARGV[1])
  end
  restatus(ns, ARGV[1], status, ARGV[2])
  redis.call('HSET', KEYS[1], 'status', ARGV[2], 'result', ARGV[3],
    'completed_at', ARGV[4], 'updated_at', ARGV[4])
  redis.call('HDEL', KEYS[1], 'stop')
  retain(ns, ARGV[1], ARGV[2])
  redis.call('PUBLISH', ARGV[5], ARGV[1] .. '\n' .. ARGV[2])
  local t, who = redis.call('TIME'), redis.call('HMGET', KEYS[1], 'runner', 'owner')
  redis.call('PUBLISH', ns .. 'changes',
    ARGV[2] .. '\n' .. (t[1] * 1000 + math.floor(t[2] / 1000)) .. '\n' .. ARGV[1] .. ' ' ..
    who[1] .. ' ' .. (who[2] or ''))
end
return 1
