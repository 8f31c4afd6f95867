-- Ends the jobs of workers whose lease expired, and the running jobs past their deadline.
-- A running job a lost worker held goes back to its queue's taking end while it has retries
-- left, and fails ("runner lost") otherwise; an id a worker moved off its queue but never
-- marked goes back to the queue. A job still running past its timeout plus a grace fails
-- ("timed out"), whatever its runner does: the backstop for runners that do not enforce it.
-- Safe to run from several supervisors at once: each worker and each job is reaped in one
-- step, and only jobs still in the state that made them due are changed.
-- KEYS: workers lease index, deadlines
-- ARGV: in-flight key prefix, job key prefix, queue key prefix, now (RFC 3339),
--       runner-lost result json, events channel, timed-out result json
-- Returns {failed, requeued, timed out}.
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local failed, requeued, timed_out = 0, 0, 0

local function fail(key, id, result)
  redis.call('HSET', key, 'status', 'failed', 'result', result,
    'completed_at', ARGV[4], 'updated_at', ARGV[4])
  redis.call('HDEL', key, 'stop')
  redis.call('ZREM', KEYS[2], id)
  redis.call('PUBLISH', ARGV[6], id .. '\nfailed')
end

for _, worker in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, 100)) do
  local inflight = ARGV[1] .. worker
  for _, id in ipairs(redis.call('LRANGE', inflight, 0, -1)) do
    local key = ARGV[2] .. id
    local state = redis.call('HMGET', key, 'status', 'worker', 'runner', 'retries', 'requeues',
      'stop')
    if state[1] == 'running' and state[2] == worker then
      local retries = tonumber(state[4] or '0') or 0
      local requeues = tonumber(state[5] or '0') or 0
      if requeues < retries and state[6] ~= '1' then
        redis.call('HSET', key, 'status', 'queued', 'updated_at', ARGV[4],
          'requeues', requeues + 1)
        redis.call('HDEL', key, 'worker', 'started_at')
        redis.call('ZREM', KEYS[2], id)
        redis.call('RPUSH', ARGV[3] .. state[3], id)
        requeued = requeued + 1
      else
        fail(key, id, ARGV[5])
        failed = failed + 1
      end
    elseif state[1] == 'queued' then
      redis.call('RPUSH', ARGV[3] .. state[3], id)
    end
  end
  redis.call('DEL', inflight)
  redis.call('ZREM', KEYS[1], worker)
end

for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_ms, 'LIMIT', 0, 100)) do
  local key = ARGV[2] .. id
  local state = redis.call('HMGET', key, 'status', 'worker')
  if state[1] == 'running' then
    redis.call('LREM', ARGV[1] .. state[2], 1, id)
    fail(key, id, ARGV[7])
    timed_out = timed_out + 1
  else
    -- Ended, requeued or deleted since: its deadline no longer applies.
    redis.call('ZREM', KEYS[2], id)
  end
end
return {failed, requeued, timed_out}
