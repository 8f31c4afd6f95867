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
restatus(ns, ARGV[1], status, 'stopped')
redis.call('HSET', KEYS[1], 'status', 'stopped', 'result', ARGV[2],
  'completed_at', ARGV[3], 'updated_at', ARGV[3])
retain(ns, ARGV[1], 'stopped')
local runner = redis.call('HGET', KEYS[1], 'runner')
count_end(ns, runner, 'stopped')
redis.call('PUBLISH', ARGV[4], ARGV[1] .. '\nstopped')
local t = redis.call('TIME')
redis.call('PUBLISH', chan(ns, 'changes'), 'stopped\n' .. (t[1] * 1000 + math.floor(t[2] / 1000)) ..
  '\n' .. ARGV[1] .. ' ' .. runner .. ' ' .. (owner or ''))
return 'stopped'
