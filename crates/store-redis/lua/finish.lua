-- Records a worker's report on a run it holds, schedules the job's removal after its
-- retention, and announces the job's end; or, for a failed run of a job that asked to be
-- retried after an error and has retries left, schedules its next run instead (the end
-- channel then says nothing: the job has not ended).
-- KEYS: job hash, worker's in-flight list
-- ARGV: id, worker, status, result json, now (RFC 3339), events channel, attempt token
-- Returns 1, or 0 when the worker no longer holds that attempt: the job was ended, requeued or
-- deleted, even if its id was reused since. Then nothing changes, not even the in-flight
-- list: an entry of the same id there belongs to a newer run, or to a claim of a new job
-- under that id still being marked, and whoever ended the old run removed its entry.
-- Batches of reports go through finish_many.lua; both run `finish_run` (lib.lua).
local ns = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1] - 4)
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local batch = new_batch()
local done = finish_run(ns, ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], t,
  now_ms, batch)
publish_batch(ns, batch, now_ms)
return done
