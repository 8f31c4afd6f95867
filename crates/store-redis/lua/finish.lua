-- Records a worker's report on a run it holds, and announces the job's end.
-- KEYS: job hash, worker's in-flight list
-- ARGV: id, worker, status, result json, now (RFC 3339), events channel, attempt token
-- Returns 1, or 0 when the worker no longer holds that attempt (nothing changes): the job was
-- ended, requeued or deleted, even if its id was reused since.
local state = redis.call('HMGET', KEYS[1], 'status', 'worker', 'attempt')
local holds_this_id = state[1] == 'running' and state[2] == ARGV[2]
if holds_this_id and state[3] == ARGV[7] then
  redis.call('LREM', KEYS[2], 1, ARGV[1])
  redis.call('HSET', KEYS[1], 'status', ARGV[3], 'result', ARGV[4],
    'completed_at', ARGV[5], 'updated_at', ARGV[5])
  redis.call('HDEL', KEYS[1], 'stop')
  redis.call('PUBLISH', ARGV[6], ARGV[1] .. '\n' .. ARGV[3])
  return 1
end
-- The worker may hold a newer run of the same id; its in-flight entry must stay. Otherwise
-- a leftover entry of this id is dropped.
if not holds_this_id then
  redis.call('LREM', KEYS[2], 1, ARGV[1])
end
return 0
