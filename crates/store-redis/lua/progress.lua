-- Records the latest progress a worker reports on a run it holds.
-- KEYS: job hash
-- ARGV: worker, attempt token, progress json ({"percent", "message"})
-- Returns 1, or 0 when the job is not running under that worker and attempt (ended,
-- requeued, deleted, or its id reused): then nothing changes, so a late word of an old run
-- never overwrites the current or final one. The field stays when the job ends.
local state = redis.call('HMGET', KEYS[1], 'status', 'worker', 'attempt', 'runner', 'owner')
if state[1] ~= 'running' or state[2] ~= ARGV[1] or state[3] ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'progress', ARGV[3])
-- Tells watchers (see docs/runner-protocol.md, "Job changes"); a namespace holds no ':'.
local ns, id = string.match(KEYS[1], '^([^:]*:v1:)job:(.*)$')
local t = redis.call('TIME')
redis.call('PUBLISH', chan(ns, 'changes'), 'progress\n' .. (t[1] * 1000 + math.floor(t[2] / 1000)) ..
  '\n' .. id .. ' ' .. state[4] .. ' ' .. (state[5] or '') .. '\n' .. ARGV[3])
return 1
