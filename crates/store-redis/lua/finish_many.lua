-- Records many workers' reports at once, each as finish.lua records one (`finish_run`,
-- lib.lua), and announces the batch's changes in one message per final status. The store
-- sends the reports that come in while one batch is on its way as the next batch.
-- KEYS: none (every key is under the namespace prefix)
-- ARGV: key prefix ("{ns}:v1:"), now (RFC 3339), events channel, then five per report: id,
--   worker, status, result json, attempt token
-- Returns, per report in order, 1 when it was recorded and 0 when its worker no longer held
-- that attempt.
local ns = ARGV[1]
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local batch = new_batch()
local done = {}
for i = 4, #ARGV, 5 do
  done[#done + 1] = finish_run(ns, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[2],
    ARGV[3], ARGV[i + 4], t, now_ms, batch)
end
publish_batch(ns, batch, now_ms)
return done
