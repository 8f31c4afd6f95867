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
redis.call('ZREM', ns .. 'expiry', ARGV[1])
restatus(ns, ARGV[1], status, 'queued')
redis.call('HDEL', KEYS[1], 'result', 'completed_at', 'started_at', 'worker', 'attempt',
  'deadline', 'claimed_ms', 'progress', 'stop', 'losses', 'requeues', 'errors', 'last_error')
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('HSET', KEYS[1], 'status', 'queued', 'updated_at', ARGV[2], 'queued_ms', now_ms)
enqueue(ns, ARGV[1], runner, priority)
redis.call('PUBLISH', chan(ns, 'changes'), 'queued\n' .. now_ms ..
  '\n' .. ARGV[1] .. ' ' .. runner .. ' ' .. (owner or ''))
return 'ok'
