-- Takes up to ARGV[6] jobs for a worker: moves their ids from the queues into the worker's
-- in-flight list, marks them running under a new attempt token, and renews the worker's
-- lease. With ARGV[5] set, that id was already moved there by BLMOVE and only its marking is
-- left; it is marked only if it is still in the worker's in-flight list (a heartbeat may have
-- returned it to its queue meanwhile, and another claim may hold it now).
-- Only a queued job of this queue's runner is marked: an id moved here whose job was deleted
-- and created again under that id for another runner is dropped from the in-flight list (the
-- new job's own queue holds it), and put back on that runner's queue if it is not there.
-- Also records that the queue has a live runner (the queue's last-seen time), and on each
-- claimed job its deadline (Redis ms: now + its timeout + a grace) for the reaper's backstop
-- and its claim time (Redis ms), after which a heartbeat that does not list the run takes it
-- back (see heartbeat.lua).
-- KEYS: queue, worker's in-flight list, workers lease index, queues' last-seen hash,
--       attempt counter
-- ARGV: job key prefix, worker, lease (ms), now (RFC 3339), id already moved or "", most jobs,
--       queue name, timeout grace (ms; 5000 when absent, for runners written before it)
-- The queue key is the queue key prefix followed by the queue name.
-- The list may hold wake markers (`!wake`, never a job id): they are dropped like the id of a
-- deleted job.
-- Returns {attempt token, job JSON, id} per claimed job, highest priority and then oldest
-- first; empty when the queue
-- held no claimable job. The token is unique across the namespace: every report, heartbeat
-- and stop check of this run carries it. The id is there so that a job whose JSON cannot be
-- read can still be reported failed under its token.
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local ns = string.sub(ARGV[1], 1, #ARGV[1] - 4)
local jobs = {}
local changed = {}
claim_jobs(ns, ARGV[7], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6]),
  tonumber(ARGV[8] or '5000'), now_ms, jobs, changed)
-- Tells watchers, in one message for the batch (see docs/runner-protocol.md, "Job changes").
if #changed > 0 then
  redis.call('PUBLISH', chan(ns, 'changes'), 'running\n' .. now_ms .. '\n' ..
    table.concat(changed, '\n'))
end
return jobs
