-- Renews a worker's lease and tells it which of the runs it executes it should give up.
-- The queues of the jobs it runs are marked seen: a busy runner claims nothing, yet is alive.
-- The worker lists every run it executes, or has executed and not yet reported. Its
-- in-flight list is then tidied:
-- - Ids still `queued` were moved there by a claim whose second half (claim.lua marking
--   them) never ran, e.g. its reply was lost: they go back to the taking end of their own
--   runner's queue (unless that queue holds them already), so a live worker never sits on
--   them. A claim that marks its moved id later finds it gone from the list and leaves it.
-- - Runs marked for this worker that it does not list, claimed more than one lease ago,
--   were claimed by a claim whose reply never reached it (lost, timed out, or a job it could
--   not read and failed to report): nothing executes them. They go back to the taking end of
--   their queue, `queued`, their attempt cleared, not counted as a lost runner. A claim whose
--   reply is still on its way is younger than a lease and is left alone.
-- - Ids of jobs deleted, ended or taken over meanwhile are dropped.
-- KEYS: workers lease index, queues' last-seen hash, worker's in-flight list
-- ARGV: worker, lease (ms), job key prefix, queue key prefix, now (RFC 3339), then the runs
--       the worker executes as pairs: id, attempt token
-- Returns the runs among them, as a flat list of id, attempt token, that were asked to stop
-- or that the worker no longer holds under that token (ended by the supervisor, requeued,
-- deleted even if the id was reused since, or taken over).
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now_ms + lease, ARGV[1])
local give_up = {}
local listed = {}
for i = 6, #ARGV, 2 do
  local id, attempt = ARGV[i], ARGV[i + 1]
  listed[id .. '\n' .. attempt] = true
  local state = redis.call('HMGET', ARGV[3] .. id, 'status', 'worker', 'stop', 'runner',
    'attempt')
  if state[1] ~= 'running' or state[2] ~= ARGV[1] or state[3] == '1' or state[5] ~= attempt then
    table.insert(give_up, id)
    table.insert(give_up, attempt)
  else
    redis.call('HSET', KEYS[2], state[4], now_ms)
  end
end
local ns = string.sub(ARGV[3], 1, #ARGV[3] - 4)
-- Back to the front of its runner's queue: the taking end of the list, or for a priority
-- above 0 the front of that priority in {ns}pqueue:<runner> (see docs/runner-protocol.md,
-- "Priorities"), waking a runner blocked on an empty list.
local function requeue(id, runner, priority)
  local p = tonumber(priority or '0') or 0
  local queue = ARGV[4] .. runner
  if p > 0 then
    redis.call('ZADD', ns .. 'pqueue:' .. runner, string.format('%.0f', (10 - p) * 1e13), id)
    if redis.call('LLEN', queue) == 0 then
      redis.call('LPUSH', queue, '!wake')
    end
  elseif not redis.call('LPOS', queue, id) then
    redis.call('RPUSH', queue, id)
  end
end
local seen = {}
local requeued = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
  if not seen[id] then
    seen[id] = true
    local key = ARGV[3] .. id
    local state = redis.call('HMGET', key, 'status', 'runner', 'worker', 'attempt',
      'claimed_ms', 'owner', 'priority')
    if state[1] == 'queued' then
      redis.call('LREM', KEYS[3], 0, id)
      requeue(id, state[2], state[7])
    elseif state[1] ~= 'running' or state[3] ~= ARGV[1] then
      -- Deleted or ended after it was moved: nothing of it runs here.
      redis.call('LREM', KEYS[3], 0, id)
    elseif not listed[id .. '\n' .. state[4]] and state[5]
        and tonumber(state[5]) + lease <= now_ms then
      redis.call('LREM', KEYS[3], 0, id)
      restatus(ns, id, 'running', 'queued')
      redis.call('HSET', key, 'status', 'queued', 'updated_at', ARGV[5], 'queued_ms', now_ms)
      -- A stop asked meanwhile stays asked: the next run is given it at its first heartbeat.
      redis.call('HDEL', key, 'worker', 'attempt', 'started_at', 'deadline', 'claimed_ms',
        'progress')
      requeue(id, state[2], state[7])
      requeued[#requeued + 1] = id .. ' ' .. state[2] .. ' ' .. (state[6] or '')
    end
  end
end
-- Tells watchers (see docs/runner-protocol.md, "Job changes").
if #requeued > 0 then
  redis.call('PUBLISH', chan(ns, 'changes'), 'queued\n' .. now_ms .. '\n' ..
    table.concat(requeued, '\n'))
end
return give_up
