-- Takes up to ARGV[6] jobs for a worker: moves their ids from the queues into the worker's
-- in-flight list, marks them running under a new attempt token, and renews the worker's
-- lease. With ARGV[5] set, that id was already moved there by BLMOVE and only its marking is
-- left; it is marked only if it is still in the worker's in-flight list (a heartbeat may have
-- returned it to its queue meanwhile, and another claim may hold it now).
-- Only a queued job of this queue's runner is marked: an id moved here whose job was deleted
-- and created again under that id for another runner is dropped from the in-flight list (the
-- new job's own queue holds it), and put back on that runner's queue if it is not there.
-- Also records that the queue has a live runner (the queue's last-seen time), and on each
-- claimed job its deadline (Redis ms: now + its timeout + a grace) for the reaper's backstop
-- and its claim time (Redis ms), after which a heartbeat that does not list the run takes it
-- back (see heartbeat.lua).
-- KEYS: queue, worker's in-flight list, workers lease index, queues' last-seen hash,
--       attempt counter
-- ARGV: job key prefix, worker, lease (ms), now (RFC 3339), id already moved or "", most jobs,
--       queue name, timeout grace (ms; 5000 when absent, for runners written before it)
-- The queue key is the queue key prefix followed by the queue name.
-- The list may hold wake markers (`!wake`, never a job id): they are dropped like the id of a
-- deleted job.
-- Returns {attempt token, job JSON, id} per claimed job, highest priority and then oldest
-- first; empty when the queue
-- held no claimable job. The token is unique across the namespace: every report, heartbeat
-- and stop check of this run carries it. The id is there so that a job whose JSON cannot be
-- read can still be reported failed under its token.
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZADD', KEYS[3], now_ms + tonumber(ARGV[3]), ARGV[2])
redis.call('HSET', KEYS[4], ARGV[7], now_ms)
local queue_prefix = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[7])
local jobs = {}
local changed = {}
local ns = string.sub(ARGV[1], 1, #ARGV[1] - 4)
local function take(id)
  local key = ARGV[1] .. id
  -- The job's JSON comes in the same read: nearly every id taken here is claimed.
  local state = redis.call('HMGET', key, 'status', 'timeout', 'runner', 'owner', 'job',
    'queued_ms', 'created_ms')
  if state[1] == 'queued' and state[3] == ARGV[7] then
    -- A job stored before timeouts were copied into the hash gets the largest timeout.
    local deadline = now_ms + tonumber(state[2] or '86400') * 1000 + tonumber(ARGV[8] or '5000')
    local attempt = redis.call('INCR', KEYS[5])
    local created = restatus(ns, id, 'queued', 'running', state[7])
    redis.call('HSET', key, 'status', 'running', 'worker', ARGV[2], 'attempt', attempt,
      'started_at', ARGV[4], 'updated_at', ARGV[4], 'deadline', deadline, 'claimed_ms', now_ms)
    table.insert(jobs, {attempt, state[5], id})
    -- Its wait: since it was last queued (`queued_ms`, set by every step that queues a job
    -- again), else since it was created and queued with it.
    changed[#changed + 1] = change_line(id, ARGV[7], state[4], state[6] or created, now_ms)
  else
    -- Stopped or deleted while queued, or now a job of another runner: drop the stale entry.
    redis.call('LREM', KEYS[2], 1, id)
    if state[1] == 'queued' then
      local queue = queue_prefix .. state[3]
      if not redis.call('LPOS', queue, id) then
        redis.call('RPUSH', queue, id)
      end
    end
  end
end
if ARGV[5] ~= '' and redis.call('LPOS', KEYS[2], ARGV[5]) then
  take(ARGV[5])
end
local most = tonumber(ARGV[6])
-- Jobs of a priority above 0 wait in {ns}pqueue:<runner>, highest priority and then oldest
-- first, and go before the list's (see docs/runner-protocol.md, "Priorities"); a queue that
-- never had one costs one EXISTS.
local pqueue = ns .. 'pqueue:' .. ARGV[7]
if #jobs < most and redis.call('EXISTS', pqueue) == 1 then
  while #jobs < most do
    local popped = redis.call('ZPOPMIN', pqueue, most - #jobs)
    if #popped == 0 then
      break
    end
    for i = 1, #popped, 2 do
      redis.call('LPUSH', KEYS[2], popped[i])
      take(popped[i])
    end
  end
  -- Another worker may be blocked on the list while priority jobs are left: wake it.
  if redis.call('EXISTS', pqueue) == 1 and redis.call('LLEN', KEYS[1]) == 0 then
    redis.call('LPUSH', KEYS[1], '!wake')
  end
end
while #jobs < most do
  local id = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not id then
    break
  end
  take(id)
end
-- Tells watchers, in one message for the batch (see docs/runner-protocol.md, "Job changes").
if #changed > 0 then
  redis.call('PUBLISH', ns .. 'changes', 'running\n' .. now_ms .. '\n' ..
    table.concat(changed, '\n'))
end
return jobs
