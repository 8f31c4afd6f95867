-- Removes job ids from the directory of a namespace on a Redis Cluster (`src/shards.rs`) once
-- their jobs are gone from the shard of ARGV[1]: each entry (`RUNNER MS`) only while it still
-- names that runner and was reserved no later than ARGV[2] (this master's clock, read before
-- the jobs went), so that an id since submitted again, for any runner, keeps its new entry.
-- KEYS: directory
-- ARGV: runner, reserved no later than (ms), id, id, …
local since = tonumber(ARGV[2])
local removed = 0
for i = 3, #ARGV do
  local held = redis.call('HGET', KEYS[1], ARGV[i])
  if held then
    local owner, at = string.match(held, '^(%S+) (%d+)$')
    if owner == ARGV[1] and tonumber(at) <= since then
      removed = removed + redis.call('HDEL', KEYS[1], ARGV[i])
    end
  end
end
return removed
