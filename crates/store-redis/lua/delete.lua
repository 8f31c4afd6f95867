-- Deletes a job, its result and its queue or in-flight entry, and wakes its waiters.
-- A run still executing is not reported into a job created later under the same id: reports
-- carry the attempt token, which a new job never shares (see finish.lua).
-- KEYS: job hash, jobs index
-- ARGV: id, events channel, queue key prefix, in-flight key prefix, expected owner ("" for
--       any)
-- Returns 1, or 0 when the job does not exist or has another owner than the expected one.
local state = redis.call('HMGET', KEYS[1], 'status', 'runner', 'worker', 'owner', 'caller',
  'context')
if not state[1] or (ARGV[5] ~= '' and state[4] ~= ARGV[5]) then
  return 0
end
local ns = string.sub(KEYS[2], 1, #KEYS[2] - 4)
if state[1] == 'queued' then
  redis.call('LREM', ARGV[3] .. state[2], 1, ARGV[1])
  redis.call('ZREM', ns .. 'pqueue:' .. state[2], ARGV[1])
elseif state[1] == 'scheduled' then
  redis.call('ZREM', ns .. 'scheduled', ARGV[1])
elseif state[1] == 'running' then
  redis.call('LREM', ARGV[4] .. state[3], 1, ARGV[1])
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
-- A job created again under this id must not be removed on this one's schedule.
redis.call('ZREM', ns .. 'expiry', ARGV[1])
redis.call('ZREM', ns .. 'idx:status:' .. state[1], ARGV[1])
redis.call('ZREM', ns .. 'idx:runner:' .. state[2], ARGV[1])
if state[4] then
  redis.call('ZREM', ns .. 'idx:owner:' .. state[4], ARGV[1])
end
if state[5] then
  redis.call('ZREM', ns .. 'idx:caller:' .. state[5], ARGV[1])
  redis.call('ZREM', ns .. 'idx:context:' .. state[6], ARGV[1])
end
redis.call('PUBLISH', ARGV[2], ARGV[1] .. '\n')
local t = redis.call('TIME')
redis.call('PUBLISH', chan(ns, 'changes'), 'deleted\n' .. (t[1] * 1000 + math.floor(t[2] / 1000)) ..
  '\n' .. ARGV[1] .. ' ' .. state[2] .. ' ' .. (state[4] or ''))
return 1
