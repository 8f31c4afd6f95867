-- Records many workers' reports at once, each as finish.lua records one (`finish_run`,
-- lib.lua), and for each taken report that names a queue, claims the worker's next job from
-- it as claim.lua would (`claim_jobs`, at most one): a busy worker reports a job and takes
-- the next in one step. Announces the batch's changes in one message per status. The store
-- sends the reports that come in while batches are on their way as the next batch.
-- KEYS: the jobs index "{ns}:v1:jobs", not read: it names the namespace's slot so that a
--   Redis Cluster routes the script (every key is under the namespace prefix)
-- ARGV: key prefix ("{ns}:v1:"), now (RFC 3339), events channel, timeout grace (ms), then
--   seven per report: id, worker, status, result json, attempt token, queue to claim the
--   next job from ("" for none), lease (ms)
-- Returns, per report in order, {1} when it was recorded, {0} when its worker no longer held
-- that attempt, and {1, attempt token, job JSON, id} when a next job was claimed.
local ns = ARGV[1]
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local batch = new_batch()
local grace = tonumber(ARGV[4])
local answers = {}
for i = 5, #ARGV, 7 do
  local done = finish_run(ns, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[2], ARGV[3],
    ARGV[i + 4], t, now_ms, batch)
  local answer = {done}
  if done == 1 and ARGV[i + 5] ~= '' then
    local next_jobs = {}
    local running = batch.changes.running or {}
    batch.changes.running = running
    claim_jobs(ns, ARGV[i + 5], ARGV[i + 1], tonumber(ARGV[i + 6]), ARGV[2], '', 1, grace,
      now_ms, next_jobs, running, batch.memo)
    if next_jobs[1] then
      answer = {1, next_jobs[1][1], next_jobs[1][2], next_jobs[1][3]}
    end
  end
  answers[#answers + 1] = answer
end
publish_batch(ns, batch, now_ms)
return answers
