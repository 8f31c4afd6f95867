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
local allowed = false
for i = 8, #ARGV do
  if ARGV[i] == status then
    allowed = true
  end
end
if allowed then
  local ns = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1] - 4)
  local who = redis.call('HMGET', KEYS[1], 'runner', 'owner', 'claimed_ms')
  if status == 'queued' then
    local runner = who[1]
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
  count_end(ns, who[1], ARGV[2])
  redis.call('PUBLISH', ARGV[5], ARGV[1] .. '\n' .. ARGV[2])
  local t = redis.call('TIME')
  local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
  -- A run time only for a job that ran: a claim time left from another state means nothing.
  local claimed = nil
  if status == 'running' then
    claimed = who[3]
  end
  redis.call('PUBLISH', chan(ns, 'changes'), ARGV[2] .. '\n' .. now_ms .. '\n' ..
    change_line(ARGV[1], who[1], who[2], claimed, now_ms))
end
return 1
