-- Reserves job ids for their runners in the directory of a namespace on a Redis Cluster
-- (`src/shards.rs`), before the jobs are stored in their runners' shards: every id of the call,
-- or none. Each entry is `RUNNER MS`: the runner, and when it was reserved (Redis clock).
-- An id reserved for the same runner already stays reserved (a retry of a submit whose store
-- step did not happen, or a job that exists and which the shard then refuses). An entry naming
-- another runner is taken over only when the caller names it as stale — it found that runner's
-- shard without the job — and it is older than ARGV[1] ms, longer than a submit takes between
-- its two steps: a submit that stopped between them, never acknowledged.
-- KEYS: directory, shards set
-- ARGV: stale age (ms), n, then n stale entries (id, entry), then the ids to reserve
--   (id, runner, …)
-- Returns {''} and the runners whose shard is new, or {id, entry} for the first id reserved
-- for another runner (nothing changed then).
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local old = now_ms - tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local stale = {}
for i = 3, 2 * n + 1, 2 do
  stale[ARGV[i]] = ARGV[i + 1]
end
local asked = {}
for i = 2 * n + 3, #ARGV, 2 do
  local id, runner = ARGV[i], ARGV[i + 1]
  if not asked[id] then
    local held = redis.call('HGET', KEYS[1], id)
    if held then
      local owner, since = string.match(held, '^(%S+) (%d+)$')
      local gone = stale[id] == held and tonumber(since or '0') <= old
      if owner ~= runner and not gone then
        return {id, held}
      end
    end
  end
  asked[id] = runner
end
local answer = {''}
local runners = {}
local stamp = ' ' .. string.format('%.0f', now_ms)
for id, runner in pairs(asked) do
  redis.call('HSET', KEYS[1], id, runner .. stamp)
  if not runners[runner] then
    runners[runner] = true
    if redis.call('SADD', KEYS[2], runner) == 1 then
      answer[#answer + 1] = runner
    end
  end
end
return answer
