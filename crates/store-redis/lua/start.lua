-- Queues a created job, or schedules it when its due time is still to come.
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
local ns = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1] - 4)
local runner, priority, due = unpack(redis.call('HMGET', KEYS[1], 'runner', 'priority', 'due'))
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local next = 'queued'
if due and tonumber(due) > now_ms then
  next = 'scheduled'
  schedule(ns, ARGV[1], due)
else
  enqueue(ns, ARGV[1], runner, priority)
end
restatus(ns, ARGV[1], 'created', next)
redis.call('HSET', KEYS[1], 'status', next, 'updated_at', ARGV[2], 'queued_ms', now_ms)
-- Tells watchers (see docs/runner-protocol.md, "Job changes").
redis.call('PUBLISH', chan(ns, 'changes'), next .. '\n' .. now_ms .. '\n' .. ARGV[1] .. ' ' ..
  runner .. ' ' .. (owner or ''))
return 'ok'
