-- Ends the jobs of workers whose lease expired: a running job they held fails ("runner
-- lost"); an id a worker moved off its queue but never marked goes back to the queue's taking
-- end. Safe to run from several supervisors at once: each worker is reaped in one step.
-- KEYS: workers lease index
-- ARGV: in-flight key prefix, job key prefix, queue key prefix, now (RFC 3339), result json,
--       events channel
-- Returns the number of jobs failed.
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local failed = 0
for _, worker in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, 100)) do
  local inflight = ARGV[1] .. worker
  for _, id in ipairs(redis.call('LRANGE', inflight, 0, -1)) do
    local key = ARGV[2] .. id
    local state = redis.call('HMGET', key, 'status', 'worker', 'runner')
    if state[1] == 'running' and state[2] == worker then
      redis.call('HSET', key, 'status', 'failed', 'result', ARGV[5],
        'completed_at', ARGV[4], 'updated_at', ARGV[4])
      redis.call('HDEL', key, 'stop')
      redis.call('PUBLISH', ARGV[6], id .. '\nfailed')
      failed = failed + 1
    elseif state[1] == 'queued' then
      redis.call('RPUSH', ARGV[3] .. state[3], id)
    end
  end
  redis.call('DEL', inflight)
  redis.call('ZREM', KEYS[1], worker)
end
return failed
