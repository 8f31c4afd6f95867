-- Records a worker's report on a job it holds, and announces the job's end.
-- KEYS: job hash, worker's in-flight list
-- ARGV: id, worker, status, result json, now (RFC 3339), events channel
-- Returns 1, or 0 when the worker no longer holds the job (nothing changes).
redis.call('LREM', KEYS[2], 1, ARGV[1])
if redis.call('HGET', KEYS[1], 'status') ~= 'running'
    or redis.call('HGET', KEYS[1], 'worker') ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'result', ARGV[4],
  'completed_at', ARGV[5], 'updated_at', ARGV[5])
redis.call('HDEL', KEYS[1], 'stop')
redis.call('PUBLISH', ARGV[6], ARGV[1] .. '\n' .. ARGV[3])
return 1
