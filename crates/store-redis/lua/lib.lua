-- Helpers shared by the scripts: the store loads each script with this file in front of it
-- (`crates/store-redis/src/scripts.rs`), and so must a runner in another language that runs
-- them (see docs/runner-protocol.md).

-- The channel `name` of the namespace whose keys start with `ns`. On a Redis Cluster each
-- runner's shard has keys under `{NS/RUNNER}:v1:` while the namespace's channels stay under
-- `{NS}:v1:`, so one subscription hears every shard; anywhere else `ns` is the namespace's.
local function chan(ns, name)
  return (string.gsub(ns, '^{([^/{}]*)/[^{}]*}', '{%1}', 1)) .. name
end

-- Moves a job between the status indexes ({ns}idx:status:<status>), keeping its creation
-- time (ms, the jobs index's score) as its score there. A caller that read the job hash's
-- `created_ms` (the same score, stored by the submit scripts) passes it as `score` and saves
-- the index lookup; jobs stored before that field existed are looked up. Returns the score
-- (nil when the job is not indexed).
local function restatus(ns, id, from, to, score)
  score = score or redis.call('ZSCORE', ns .. 'jobs', id)
  redis.call('ZREM', ns .. 'idx:status:' .. from, id)
  if score then
    redis.call('ZADD', ns .. 'idx:status:' .. to, score, id)
  end
  return score
end

-- Counts a job of `runner` that reached the final `status` in {ns}stats (field
-- `finished:<runner>:<status>`), the counter `/metrics` reads: one HINCRBY per job end.
local function count_end(ns, runner, status)
  redis.call('HINCRBY', ns .. 'stats', 'finished:' .. runner .. ':' .. status, 1)
end

-- The job line of a change announcement (see docs/runner-protocol.md, "Job changes"):
-- `ID RUNNER OWNER`, followed by ` MS` when `since_ms` (a Redis-clock time) is known: the
-- milliseconds from it to `now_ms`, never below 0.
local function change_line(id, runner, owner, since_ms, now_ms)
  local line = id .. ' ' .. runner .. ' ' .. (owner or '')
  local since = tonumber(since_ms or '')
  if since then
    line = line .. ' ' .. string.format('%.0f', math.max(now_ms - since, 0))
  end
  return line
end

-- Schedules a job that just became final for removal: its deadline (Redis ms) in
-- {ns}expiry is now (`now_ms`, or the Redis clock when not given) plus the retention of its
-- status, read from {ns}retention (ms per status, written by the supervisor) or the defaults
-- (1 day completed, 7 days otherwise) when absent.
-- A script that ends many jobs passes a table as `kept`, so it reads each status's retention
-- once and, with `now_ms` given (one clock for the script), formats each deadline once.
local function retain(ns, id, status, now_ms, kept)
  local until_ms = kept and now_ms and kept['until:' .. status]
  if until_ms then
    redis.call('ZADD', ns .. 'expiry', until_ms, id)
    return
  end
  local defaults = {completed = 86400000, failed = 604800000, stopped = 604800000}
  local keep = kept and kept[status]
  if keep == nil then
    keep = tonumber(redis.call('HGET', ns .. 'retention', status) or '') or defaults[status]
    if kept then
      kept[status] = keep or false
    end
  end
  if not keep then
    return
  end
  if not now_ms then
    local t = redis.call('TIME')
    now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
  elseif kept then
    until_ms = string.format('%.0f', now_ms + keep)
    kept['until:' .. status] = until_ms
    redis.call('ZADD', ns .. 'expiry', until_ms, id)
    return
  end
  redis.call('ZADD', ns .. 'expiry', now_ms + keep, id)
end

-- Puts a job in {ns}scheduled, due at `due` (ms); when it is now the earliest there, tells
-- the supervisors' promoters on the events channel, so they wake before they had planned.
local function schedule(ns, id, due)
  redis.call('ZADD', ns .. 'scheduled', due, id)
  if redis.call('ZRANGE', ns .. 'scheduled', 0, 0)[1] == id then
    redis.call('PUBLISH', chan(ns, 'events'), '\nscheduled')
  end
end

-- Puts a job on its runner's queue (see docs/runner-protocol.md, "Priorities"): priority 0
-- on the list {ns}queue:<runner>, pushed on the left; a higher one in the sorted set
-- {ns}pqueue:<runner>, scored so that the highest priority, then the first queued, comes
-- first, with a wake marker on the list when that is empty, so a runner blocked on it wakes.
local function enqueue(ns, id, runner, priority)
  local p = tonumber(priority or '0') or 0
  local queue = ns .. 'queue:' .. runner
  if p <= 0 then
    redis.call('LPUSH', queue, id)
    return
  end
  local seq = redis.call('INCR', ns .. 'pseq')
  redis.call('ZADD', ns .. 'pqueue:' .. runner, string.format('%.0f', (10 - p) * 1e13 + seq), id)
  if redis.call('LLEN', queue) == 0 then
    redis.call('LPUSH', queue, '!wake')
  end
end


-- Records a worker's report on a run it holds (finish.lua, finish_many.lua): see finish.lua.
-- `t` and `now_ms` are the Redis clock; `batch` gathers what the caller announces and counts
-- once for all its reports (`publish_batch`): the change lines per final status, the end
-- counts per runner and status, and the retention of each status. Returns 1, or 0 when the
-- worker no longer holds that attempt.
local function finish_run(ns, id, worker, status, result, now_iso, events, attempt, t, now_ms,
    batch)
  local key = ns .. 'job:' .. id
  local state = redis.call('HMGET', key, 'status', 'worker', 'attempt', 'runner', 'owner',
    'claimed_ms', 'waited', 'created_ms', 'stop')
  if state[1] ~= 'running' or state[2] ~= worker or state[3] ~= attempt then
    return 0
  end
  redis.call('LREM', ns .. 'inflight:' .. worker, 1, id)
  if status == 'failed' then
    local ok, decoded = pcall(cjson.decode, result)
    local message = ok and type(decoded) == 'table' and decoded.error or nil
    if type(message) == 'string' then
      redis.call('HSET', key, 'last_error', message)
    end
    -- A job that asked to be retried after an error, with retries left (runs again after a
    -- lost runner count too) and no stop asked, backs off as `scheduled` instead of ending:
    -- the n-th retry waits base × 2^(n-1) seconds, capped at a day, jittered down to as
    -- little as half, so many jobs failing at once do not come back at once.
    local r = redis.call('HMGET', key, 'retry', 'retries', 'requeues', 'errors', 'backoff',
      'stop')
    local errors = tonumber(r[4] or '0') or 0
    local reruns = (tonumber(r[3] or '0') or 0) + errors
    if r[1] == '1' and r[6] ~= '1' and reruns < (tonumber(r[2] or '0') or 0) then
      errors = errors + 1
      local wait = math.min((tonumber(r[5] or '1') or 1) * 2 ^ (errors - 1), 86400) * 1000
      local due = now_ms + math.floor(wait * (0.5 + 0.5 * ((t[2] % 1000) / 999)))
      restatus(ns, id, 'running', 'scheduled', state[8])
      redis.call('HSET', key, 'status', 'scheduled', 'errors', errors, 'updated_at', now_iso)
      redis.call('HDEL', key, 'worker', 'attempt', 'started_at', 'deadline', 'claimed_ms',
        'progress')
      schedule(ns, id, due)
      redis.call('PUBLISH', chan(ns, 'changes'), 'scheduled\n' .. now_ms .. '\n' .. id .. ' ' ..
        state[4] .. ' ' .. (state[5] or ''))
      return 1
    end
  end
  restatus(ns, id, 'running', status, state[8])
  redis.call('HSET', key, 'status', status, 'result', result, 'completed_at', now_iso,
    'updated_at', now_iso)
  if state[9] then
    redis.call('HDEL', key, 'stop')
  end
  retain(ns, id, status, now_ms, batch.kept)
  local counted = state[4] .. ':' .. status
  batch.counts[counted] = (batch.counts[counted] or 0) + 1
  -- A caller waits for this job (`job.run`): it gets the outcome with the announcement,
  -- before the end announcement, and need not read the job (the job's own JSON, which it
  -- holds, is left out).
  if state[7] then
    local names = {'status', 'updated_at', 'result', 'progress', 'started_at', 'completed_at',
      'errors', 'requeues', 'owner', 'last_error'}
    local values = redis.call('HMGET', key, unpack(names))
    local fields = {}
    for i, name in ipairs(names) do
      if values[i] then
        fields[name] = values[i]
      end
    end
    redis.call('PUBLISH', chan(ns, 'results'), id .. '\n' .. cjson.encode(fields))
  end
  redis.call('PUBLISH', events, id .. '\n' .. status)
  local lines = batch.changes[status]
  if not lines then
    lines = {}
    batch.changes[status] = lines
  end
  lines[#lines + 1] = change_line(id, state[4], state[5], state[6], now_ms)
  return 1
end

-- What `finish_run` gathers for a batch of reports; `memo` is what `claim_jobs` need do only
-- once per script (see there).
local function new_batch()
  return {changes = {}, counts = {}, kept = {}, memo = {}}
end

-- Counts the ends of a batch in {ns}stats and announces its changes: one message per
-- status that has any (a message without a job line is malformed to its readers).
local function publish_batch(ns, batch, now_ms)
  for field, n in pairs(batch.counts) do
    redis.call('HINCRBY', ns .. 'stats', 'finished:' .. field, n)
  end
  for status, lines in pairs(batch.changes) do
    if #lines > 0 then
      redis.call('PUBLISH', chan(ns, 'changes'), status .. '\n' .. now_ms .. '\n' ..
        table.concat(lines, '\n'))
    end
  end
end

-- Takes up to `most` jobs of the queue `runner` for `worker` (claim.lua, finish_many.lua): see
-- claim.lua, whose keys these are, derived from the namespace prefix `ns`. Appends
-- {attempt token, job JSON, id} per claimed job to `jobs` and its change line to `changed`;
-- the caller announces them.
-- A script claiming for many reports passes the same `memo` table to each call: within one
-- script the clock stands still, so a worker's lease and its queue's last-seen time are
-- written once, numbers are formatted once (Lua formats a number with `sprintf` each time
-- it becomes a string, a tenth of Redis' time in a drain), and a priority queue found empty
-- stays empty (claims only take from it).
local function claim_jobs(ns, runner, worker, lease, now_iso, moved, most, grace, now_ms, jobs,
    changed, memo)
  memo = memo or {}
  if not memo.now then
    memo.now = string.format('%.0f', now_ms)
    memo.leased, memo.seen, memo.no_pqueue, memo.deadlines = {}, {}, {}, {}
  end
  local queue = ns .. 'queue:' .. runner
  local inflight = ns .. 'inflight:' .. worker
  if memo.leased[worker] ~= lease then
    memo.leased[worker] = lease
    redis.call('ZADD', ns .. 'workers', now_ms + lease, worker)
  end
  if not memo.seen[runner] then
    memo.seen[runner] = true
    redis.call('HSET', ns .. 'seen', runner, memo.now)
  end
  local wanted = #jobs + most
  local function take(id)
    local key = ns .. 'job:' .. id
    -- The job's JSON comes in the same read: nearly every id taken here is claimed.
    local state = redis.call('HMGET', key, 'status', 'timeout', 'runner', 'owner', 'job',
      'queued_ms', 'created_ms')
    if state[1] == 'queued' and state[3] == runner then
      -- A job stored before timeouts were copied into the hash gets the largest timeout.
      local timeout = state[2] or '86400'
      local deadline = memo.deadlines[timeout]
      if not deadline then
        deadline = string.format('%.0f', now_ms + tonumber(timeout) * 1000 + grace)
        memo.deadlines[timeout] = deadline
      end
      local attempt = redis.call('INCR', ns .. 'attempts')
      local created = restatus(ns, id, 'queued', 'running', state[7])
      redis.call('HSET', key, 'status', 'running', 'worker', worker, 'attempt', attempt,
        'started_at', now_iso, 'updated_at', now_iso, 'deadline', deadline, 'claimed_ms',
        memo.now)
      table.insert(jobs, {attempt, state[5], id})
      -- Its wait: since it was last queued (`queued_ms`, set by every step that queues a job
      -- again), else since it was created and queued with it.
      changed[#changed + 1] = change_line(id, runner, state[4], state[6] or created, now_ms)
    else
      -- Stopped or deleted while queued, or now a job of another runner: drop the stale entry.
      redis.call('LREM', inflight, 1, id)
      if state[1] == 'queued' then
        local home = ns .. 'queue:' .. state[3]
        if not redis.call('LPOS', home, id) then
          redis.call('RPUSH', home, id)
        end
      end
    end
  end
  if moved ~= '' and redis.call('LPOS', inflight, moved) then
    take(moved)
  end
  -- Jobs of a priority above 0 wait in {ns}pqueue:<runner>, highest priority and then oldest
  -- first, and go before the list's (see docs/runner-protocol.md, "Priorities"); a queue that
  -- never had one costs one EXISTS.
  local pqueue = ns .. 'pqueue:' .. runner
  if #jobs < wanted and not memo.no_pqueue[runner] and redis.call('EXISTS', pqueue) == 0 then
    memo.no_pqueue[runner] = true
  end
  if #jobs < wanted and not memo.no_pqueue[runner] then
    while #jobs < wanted do
      local popped = redis.call('ZPOPMIN', pqueue, wanted - #jobs)
      if #popped == 0 then
        break
      end
      for i = 1, #popped, 2 do
        redis.call('LPUSH', inflight, popped[i])
        take(popped[i])
      end
    end
    -- Another worker may be blocked on the list while priority jobs are left: wake it.
    if redis.call('EXISTS', pqueue) == 1 and redis.call('LLEN', queue) == 0 then
      redis.call('LPUSH', queue, '!wake')
    end
  end
  while #jobs < wanted do
    local id = redis.call('LMOVE', queue, inflight, 'RIGHT', 'LEFT')
    if not id then
      break
    end
    take(id)
  end
end
