-- Removes job ids from the directory of a namespace on a Redis Cluster (`src/shards.rs`) once
-- their jobs are gone from the shard of ARGV[1]: each entry (`RUNNER MS`) only while it still
-- names that runner, so a job of the same id since stored for another runner keeps its own.
-- KEYS: directory
-- ARGV: runner, id, id, …
local removed = 0
for i = 2, #ARGV do
  local held = redis.call('HGET', KEYS[1], ARGV[i])
  if held and string.match(held, '^(%S+)') == ARGV[1] then
    removed = removed + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return removed
