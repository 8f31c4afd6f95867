-- Reserves job ids for their runners in the directory of a namespace on a Redis Cluster
-- (`src/shards.rs`), before the jobs are stored in their runners' shards: every id of the call,
-- or none. An id reserved for the same runner already stays reserved (a retry of a submit
-- whose store step did not happen, or a job that exists and which the shard then refuses).
-- KEYS: directory, shards set
-- ARGV: id, runner, id, runner, …
-- Returns {''} and the runners whose shard is new, or {id} for the first id reserved for
-- another runner (nothing changed then).
local asked = {}
for i = 1, #ARGV, 2 do
  local id, runner = ARGV[i], ARGV[i + 1]
  local held = asked[id] or redis.call('HGET', KEYS[1], id)
  if held and held ~= runner then
    return {id}
  end
  asked[id] = runner
end
local answer = {''}
local runners = {}
for id, runner in pairs(asked) do
  redis.call('HSET', KEYS[1], id, runner)
  if not runners[runner] then
    runners[runner] = true
    if redis.call('SADD', KEYS[2], runner) == 1 then
      answer[#answer + 1] = runner
    end
  end
end
return answer
