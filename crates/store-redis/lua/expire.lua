-- Removes finished jobs whose retention has passed: at most ARGV[2] of the entries of the
-- expiry set due by now (Redis clock), so one call holds Redis briefly however large the
-- backlog; the caller calls again while a call takes a full batch.
-- Each job goes with every trace of it: its hash, and its entries in the jobs index and the
-- listing's indexes (status, runner, caller, context, owner), named from the hash's fields.
-- An entry whose job is not final (its id was deleted and used again: delete.lua removes
-- the entry, but a job stored before it did) or is gone already only loses its entry.
-- KEYS: expiry set, jobs index
-- ARGV: job key prefix, most entries
-- Returns {entries taken, jobs removed}.
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, tonumber(ARGV[2]))
if #due == 0 then
  return {0, 0}
end
local ns = string.sub(KEYS[2], 1, #KEYS[2] - 4)
local final = {completed = true, failed = true, stopped = true}
local removed = {}
for _, id in ipairs(due) do
  local key = ARGV[1] .. id
  local state = redis.call('HMGET', key, 'status', 'runner', 'owner', 'caller', 'context')
  if state[1] and final[state[1]] then
    redis.call('DEL', key)
    redis.call('ZREM', ns .. 'idx:status:' .. state[1], id)
    redis.call('ZREM', ns .. 'idx:runner:' .. state[2], id)
    if state[3] then
      redis.call('ZREM', ns .. 'idx:owner:' .. state[3], id)
    end
    if state[4] then
      redis.call('ZREM', ns .. 'idx:caller:' .. state[4], id)
      redis.call('ZREM', ns .. 'idx:context:' .. state[5], id)
    end
    removed[#removed + 1] = id
  end
end
if #removed > 0 then
  redis.call('ZREM', KEYS[2], unpack(removed))
end
redis.call('ZREM', KEYS[1], unpack(due))
return {#due, #removed}
