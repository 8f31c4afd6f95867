-- Removes finished jobs whose retention has passed: at most ARGV[2] of the entries of the
-- expiry set due by now (Redis clock), so one call holds Redis briefly however large the
-- backlog; the caller calls again while a call takes a full batch.
-- Each job goes with every trace of it: its hash, and its entries in the jobs index and the
-- listing's indexes (status, runner, caller, context, owner), named from the hash's fields.
-- An entry whose job is gone already, or is not final (its id was deleted and used again
-- by a version that left the entry behind), only loses its entry: retention never removes
-- a job that is not final.
-- KEYS: expiry set, jobs index
-- ARGV: job key prefix, most entries
-- Returns {entries taken, jobs removed, their ids}.
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, tonumber(ARGV[2]))
if #due == 0 then
  return {0, 0, {}}
end
local ns = string.sub(KEYS[2], 1, #KEYS[2] - 4)
local final = {completed = true, failed = true, stopped = true}
-- Ids to remove per index, so each index costs one ZREM per call rather than one per job.
local from = {}
local function drop(index, id)
  local ids = from[index]
  if not ids then
    ids = {}
    from[index] = ids
  end
  ids[#ids + 1] = id
end
local removed = {}
for _, id in ipairs(due) do
  local key = ARGV[1] .. id
  local state = redis.call('HMGET', key, 'status', 'runner', 'owner', 'caller', 'context')
  if state[1] and final[state[1]] then
    redis.call('DEL', key)
    drop(KEYS[2], id)
    drop(ns .. 'idx:status:' .. state[1], id)
    drop(ns .. 'idx:runner:' .. state[2], id)
    if state[3] then
      drop(ns .. 'idx:owner:' .. state[3], id)
    end
    if state[4] then
      drop(ns .. 'idx:caller:' .. state[4], id)
      drop(ns .. 'idx:context:' .. state[5], id)
    end
    removed[#removed + 1] = id
  end
end
for index, ids in pairs(from) do
  redis.call('ZREM', index, unpack(ids))
end
redis.call('ZREM', KEYS[1], unpack(due))
return {#due, #removed, removed}
