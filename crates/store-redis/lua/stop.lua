-- Stops a job: a created, scheduled or queued one at once, a running one by flagging it for its worker.
-- KEYS: job hash
-- ARGV: id, result json, now (RFC 3339), events channel, queue key prefix,
--       expected owner ("" for any)
-- Returns "stopped", "requested", "final" or "missing" (also when the job has another owner
-- than the expected one).
local status, owner = unpack(redis.call('HMGET', KEYS[1], 'status', 'owner'))
if not status or (ARGV[6] ~= '' and owner ~= ARGV[6]) then
  return 'missing'
end
if status == 'running' then
  redis.call('HSET', KEYS[1], 'stop', '1')
  return 'requested'
end
if status ~= 'created' and status ~= 'queued' and status ~= 'scheduled' then
  return 'final'
end
local ns = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1] - 4)
if status == 'queued' then
  local runner = redis.call('HGET', KEYS[1], 'runner')
  redis.call('LREM', ARGV[5] .. runner, 1, ARGV[1])
  redis.call('ZREM', ns .. 'pqueue:' .. runner, ARGV[1])
elseif status == 'scheduled' then
  redis.call('ZREM', ns .. 'scheduled', ARGV[1])
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
restatus(ns, ARGV[1], status, 'stopped')
redis.call('HSET', KEYS[1], 'status', 'stopped', 'result', ARGV[2],
  'completed_at', ARGV[3], 'updated_at', ARGV[3])
retain(ns, ARGV[1], 'stopped')
redis.call('PUBLISH', ARGV[4], ARGV[1] .. '\nstopped')
local t = redis.call('TIME')
redis.call('PUBLISH', ns .. 'changes', 'stopped\n' .. (t[1] * 1000 + math.floor(t[2] / 1000)) ..
  '\n' .. ARGV[1] .. ' ' .. redis.call('HGET', KEYS[1], 'runner') .. ' ' .. (owner or ''))
return 'stopped'
