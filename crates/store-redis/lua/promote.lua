-- Queues the scheduled jobs whose time has come: at most ARGV[3] of the earliest due in
-- {ns}scheduled (scored by due time, Redis clock ms), each moved to its runner's queue as
-- start.lua does. Safe to run from several supervisors at once: a job leaves the set and
-- changes status in this one step, so it is queued once.
-- KEYS: scheduled set
-- ARGV: job key prefix, now (RFC 3339), most jobs
-- Returns {jobs queued, due time (ms) of the earliest job still scheduled, or ""}.
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local ns = string.sub(ARGV[1], 1, #ARGV[1] - 4)
local changed = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0,
    tonumber(ARGV[3]))) do
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[1] .. id
  local state = redis.call('HMGET', key, 'status', 'runner', 'priority', 'owner')
  -- Anything else was stopped, ended or deleted meanwhile: its entry is stale.
  if state[1] == 'scheduled' then
    restatus(ns, id, 'scheduled', 'queued')
    redis.call('HSET', key, 'status', 'queued', 'updated_at', ARGV[2], 'queued_ms', now_ms)
    enqueue(ns, id, state[2], state[3])
    changed[#changed + 1] = id .. ' ' .. state[2] .. ' ' .. (state[4] or '')
  end
end
-- Tells watchers, in one message for the batch (see docs/runner-protocol.md, "Job changes").
if #changed > 0 then
  redis.call('PUBLISH', chan(ns, 'changes'), 'queued\n' .. now_ms .. '\n' ..
    table.concat(changed, '\n'))
end
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {#changed, next[2] or ''}
