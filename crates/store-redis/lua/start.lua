-- Queues a created job.
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
local ns = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1] - 4)
restatus(ns, ARGV[1], 'created', 'queued')
redis.call('HSET', KEYS[1], 'status', 'queued', 'updated_at', ARGV[2])
local runner = redis.call('HGET', KEYS[1], 'runner')
redis.call('LPUSH', ARGV[3] .. runner, ARGV[1])
-- Tells watchers (see docs/runner-protocol.md, "Job changes").
local t = redis.call('TIME')
redis.call('PUBLISH', ns .. 'changes', 'queued\n' .. (t[1] * 1000 + math.floor(t[2] / 1000)) .. '\n' ..
  ARGV[1] .. ' ' .. runner .. ' ' .. (owner or ''))
return 'ok'
