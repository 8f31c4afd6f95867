-- Records a worker's report on a run it holds, and announces the job's end.
-- KEYS: job hash, worker's in-flight list
-- ARGV: id, worker, status, result json, now (RFC 3339), events channel, attempt token
-- Returns 1, or 0 when the worker no longer holds that attempt: the job was ended, requeued or
-- deleted, even if its id was reused since. Then nothing changes, not even the in-flight
-- list: an entry of the same id there belongs to a newer run, or to a claim of a new job
-- under that id still being marked, and whoever ended the old run removed its entry.
local state = redis.call('HMGET', KEYS[1], 'status', 'worker', 'attempt')
if state[1] ~= 'running' or state[2] ~= ARGV[2] or state[3] ~= ARGV[7] then
  return 0
end
redis.call('LREM', KEYS[2], 1, ARGV[1])
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
restatus(ns, ARGV[1], 'running', ARGV[3])
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'result', ARGV[4],
  'completed_at', ARGV[5], 'updated_at', ARGV[5])
redis.call('HDEL', KEYS[1], 'stop')
redis.call('PUBLISH', ARGV[6], ARGV[1] .. '\n' .. ARGV[3])
local t, who = redis.call('TIME'), redis.call('HMGET', KEYS[1], 'runner', 'owner')
redis.call('PUBLISH', ns .. 'changes', ARGV[3] .. '\n' .. (t[1] * 1000 + math.floor(t[2] / 1000)) .. '\n' ..
  ARGV[1] .. ' ' .. who[1] .. ' ' .. (who[2] or ''))
return 1
