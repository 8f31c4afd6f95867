//! Every Redis key and channel the store uses, under `{namespace}:v1:`; on a Redis Cluster
//! the namespace in braces is a hash tag (for namespace `hero`, `{hero}:v1:`), so that every
//! key of it lives in one slot.
//!
//! Changing a name or a value format here is a new layout version: runners in other
//! languages read these keys (see `docs/runner-protocol.md`).

/// The key names of one namespace.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
    /// What the namespace's pub/sub channels start with: the prefix, but for a shard's keys,
    /// whose channels are the namespace's.
    channels: String,
}

impl Keys {
    pub(crate) fn new(namespace: &str) -> Self {
        let prefix = format!("{namespace}:v1:");
        Self {
            channels: prefix.clone(),
            prefix,
        }
    }

    /// Hash holding one job: `job` (JSON), `runner`, `status`, timestamps, `result`, `worker`,
    /// `attempt` (the token of the claim running it), `losses`, `requeues` (runs again after
    /// a lost runner), `errors` (runs again after an error), `last_error`, and, when not
    /// their default, `priority`, `due` (ms), `retry` and `backoff` (s).
    /// `owner` (SHA-256 hex of the secret that created it, when one did).
    pub(crate) fn job(&self, id: &str) -> String {
        format!("{}{id}", self.job_prefix())
    }

    /// The key names of one namespace on a Redis Cluster: the namespace in braces, a hash tag
    /// that puts every key (and so every script's keys) in one slot. Only on a cluster: the
    /// names on one Redis stay as they are, so nothing stored there moves.
    pub(crate) fn tagged(namespace: &str) -> Self {
        let prefix = format!("{{{namespace}}}:v1:");
        Self {
            channels: prefix.clone(),
            prefix,
        }
    }

    /// The key names of one runner's shard of a namespace on a Redis Cluster (see
    /// `shards.rs`): its queue, its jobs and everything a script changes with them, under the
    /// hash tag `{namespace/runner}`, so that different runners' shards fall in different slots,
    /// while its channels stay the namespace's (`lua/lib.lua`'s `chan` derives them the same way).
    pub(crate) fn shard(namespace: &str, runner: &str) -> Self {
        Self {
            prefix: format!("{{{namespace}/{runner}}}:v1:"),
            channels: format!("{{{namespace}}}:v1:"),
        }
    }

    /// What every key of the namespace starts with: `{namespace}:v1:`.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn job_prefix(&self) -> String {
        format!("{}job:", self.prefix)
    }

    /// Sorted set of every job id, scored by creation time in milliseconds.
    pub(crate) fn jobs(&self) -> String {
        format!("{}jobs", self.prefix)
    }

    /// Sorted set of the ids of the jobs in one status, scored like [`Self::jobs`].
    ///
    /// This and the other `idx:` sets below are the listing's indexes: kept by the scripts
    /// that create, change the status of, and delete jobs (the scripts derive their names
    /// from the job key prefix or the jobs index key, so these names are fixed).
    pub(crate) fn by_status(&self, status: &str) -> String {
        format!("{}idx:status:{status}", self.prefix)
    }

    /// Sorted set of the ids of one runner's jobs, scored like [`Self::jobs`].
    pub(crate) fn by_runner(&self, runner: &str) -> String {
        format!("{}idx:runner:{runner}", self.prefix)
    }

    /// Sorted set of the ids of the jobs with one `caller_id`, scored like [`Self::jobs`].
    pub(crate) fn by_caller(&self, caller_id: &str) -> String {
        format!("{}idx:caller:{caller_id}", self.prefix)
    }

    /// Sorted set of the ids of the jobs with one `context_id`, scored like [`Self::jobs`].
    pub(crate) fn by_context(&self, context_id: &str) -> String {
        format!("{}idx:context:{context_id}", self.prefix)
    }

    /// Sorted set of the ids of one owner's jobs, scored like [`Self::jobs`].
    pub(crate) fn by_owner(&self, owner: &str) -> String {
        format!("{}idx:owner:{owner}", self.prefix)
    }

    /// List of queued job ids of priority 0 for one runner: pushed on the left, taken from the
    /// right. May hold the wake marker `!wake` (never a job id), which claims drop.
    pub(crate) fn queue(&self, runner: &str) -> String {
        format!("{}{runner}", self.queue_prefix())
    }

    pub(crate) fn queue_prefix(&self) -> String {
        format!("{}queue:", self.prefix)
    }

    /// Sorted set of one runner's queued jobs of a priority above 0, scored
    /// `(10 - priority) × 10^13 + n` (n from [`Self::priority_seq`]), so the lowest score is the
    /// highest priority queued first. Claims take from it before [`Self::queue`]. The scripts
    /// derive this name from the namespace.
    pub(crate) fn priority_queue(&self, runner: &str) -> String {
        format!("{}pqueue:{runner}", self.prefix)
    }

    /// Counter drawing the order of jobs queued with a priority above 0.
    #[cfg(test)]
    pub(crate) fn priority_seq(&self) -> String {
        format!("{}pseq", self.prefix)
    }

    /// Sorted set of the `scheduled` jobs, scored by when they are due (ms): `promote.lua`
    /// queues them when due. The scripts derive this name from the namespace.
    pub(crate) fn scheduled(&self) -> String {
        format!("{}scheduled", self.prefix)
    }

    /// List of the job ids one worker holds.
    pub(crate) fn inflight(&self, worker: &str) -> String {
        format!("{}{worker}", self.inflight_prefix())
    }

    pub(crate) fn inflight_prefix(&self) -> String {
        format!("{}inflight:", self.prefix)
    }

    /// Counter drawing each claim's attempt token: never reset, so no token repeats, even for
    /// a job id reused after a delete.
    pub(crate) fn attempts(&self) -> String {
        format!("{}attempts", self.prefix)
    }

    /// Sorted set of workers, scored by their lease deadline in Redis milliseconds.
    pub(crate) fn workers(&self) -> String {
        format!("{}workers", self.prefix)
    }

    /// Hash of queue name → when a runner last claimed from it or ran one of its jobs
    /// (Redis clock, ms).
    pub(crate) fn seen(&self) -> String {
        format!("{}seen", self.prefix)
    }

    /// Hash of registered (remote) runner name → JSON `{"queue", "access", "registered_at"}`.
    pub(crate) fn runners(&self) -> String {
        format!("{}runners", self.prefix)
    }

    /// Hash of schedule name → JSON `{"last_tick" (ms, first: `tick.lua` rewrites it in
    /// place), "seed", "owner", "cron", "job", "created_at"}`.
    pub(crate) fn schedules(&self) -> String {
        format!("{}schedules", self.prefix)
    }

    /// Hash of SHA-256 (hex) of a secret → `admin`, `user`, `register` or `revoked`.
    pub(crate) fn secrets(&self) -> String {
        format!("{}secrets", self.prefix)
    }

    /// Hash of final status (`completed`, `failed`, `stopped`) → how long a job that ends in
    /// it is kept, in milliseconds. Written by the supervisor; read by every script that
    /// ends a job, which use the defaults of [`hero_store::Retention`] for a missing field.
    pub(crate) fn retention(&self) -> String {
        format!("{}retention", self.prefix)
    }

    /// Sorted set of the ids of finished jobs, scored by when they are to be removed (Redis
    /// clock, ms): added by every script that ends a job, taken by `expire.lua`, removed by
    /// `delete.lua`. The scripts derive this name like the `idx:` sets.
    pub(crate) fn expiry(&self) -> String {
        format!("{}expiry", self.prefix)
    }

    /// Hash of the job counters `/metrics` reads, kept by the scripts in the same step as
    /// the change they count: `submitted:<runner>` (by `submit.lua` and `submit_many.lua`) and
    /// `finished:<runner>:<status>` (by every script that ends a job). The scripts derive this
    /// name from the namespace.
    pub(crate) fn stats(&self) -> String {
        format!("{}stats", self.prefix)
    }

    /// String of JSON `{"worker", "runner", "jobs", "failures", "busy", "slots"}`: what one
    /// runner worker reports of itself beside its heartbeat, with a time to live, so a dead
    /// worker's entry disappears. Found through [`Self::workers`].
    pub(crate) fn worker_stats(&self, worker: &str) -> String {
        format!("{}wstats:{worker}", self.prefix)
    }

    /// Pub/sub channel announcing each job's end: `id\nstatus`, or `id\n` when the job was
    /// deleted.
    pub(crate) fn events(&self) -> String {
        format!("{}events", self.channels)
    }

    /// Pub/sub channel announcing every change of every job, a script call's changes in one
    /// message (see `changes.rs`). The scripts derive its name from the namespace.
    pub(crate) fn changes(&self) -> String {
        format!("{}changes", self.channels)
    }

    /// The channel on which the end of a job someone waits for (`job.run`) is announced with
    /// its outcome, so the waiter need not read the job (see `events.rs`).
    pub(crate) fn results(&self) -> String {
        format!("{}results", self.channels)
    }

    /// Hash of job id → `RUNNER MS` (its runner, and when the id was reserved), on a Redis
    /// Cluster only: which shard holds each job (see `shards.rs`). Written before the job is
    /// stored, removed after it is deleted.
    pub(crate) fn directory(&self) -> String {
        format!("{}dir", self.prefix)
    }

    /// String of the queue a worker claims from, on a Redis Cluster only, with a time to live:
    /// for a supervisor relaying the reports of a worker whose claims another relayed.
    pub(crate) fn worker_queue(&self, worker: &str) -> String {
        format!("{}wqueue:{worker}", self.prefix)
    }

    /// Set of the runners that have a shard, on a Redis Cluster only: added to before a
    /// shard's first job, so every pass over all jobs (listing, counts, the reaper) finds it.
    pub(crate) fn shards(&self) -> String {
        format!("{}shards", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_lives_under_the_versioned_namespace() {
        let keys = Keys::new("hero");
        assert_eq!(keys.job("abc"), "hero:v1:job:abc");
        assert_eq!(keys.jobs(), "hero:v1:jobs");
        assert_eq!(keys.queue("osis_runner_1"), "hero:v1:queue:osis_runner_1");
        assert_eq!(keys.inflight("w1"), "hero:v1:inflight:w1");
        assert_eq!(keys.workers(), "hero:v1:workers");
        assert_eq!(keys.events(), "hero:v1:events");
        assert_eq!(keys.changes(), "hero:v1:changes");
        assert_eq!(keys.seen(), "hero:v1:seen");
        assert_eq!(keys.runners(), "hero:v1:runners");
        assert_eq!(keys.attempts(), "hero:v1:attempts");
        assert_eq!(keys.by_status("queued"), "hero:v1:idx:status:queued");
        assert_eq!(keys.by_runner("r"), "hero:v1:idx:runner:r");
        assert_eq!(keys.by_caller("c"), "hero:v1:idx:caller:c");
        assert_eq!(keys.by_context("x"), "hero:v1:idx:context:x");
        assert_eq!(keys.by_owner("o"), "hero:v1:idx:owner:o");
        assert_eq!(keys.retention(), "hero:v1:retention");
        assert_eq!(keys.expiry(), "hero:v1:expiry");
        assert_eq!(keys.schedules(), "hero:v1:schedules");
        assert_eq!(keys.priority_queue("r"), "hero:v1:pqueue:r");
        assert_eq!(keys.priority_seq(), "hero:v1:pseq");
        assert_eq!(keys.scheduled(), "hero:v1:scheduled");
        assert_eq!(keys.stats(), "hero:v1:stats");
        assert_eq!(keys.worker_stats("w1"), "hero:v1:wstats:w1");
    }

    #[test]
    fn a_shards_keys_share_one_hash_tag_and_its_channels_are_the_namespaces() {
        let keys = Keys::shard("hero", "r1");
        assert_eq!(keys.job("abc"), "{hero/r1}:v1:job:abc");
        assert_eq!(keys.queue("r1"), "{hero/r1}:v1:queue:r1");
        assert_eq!(keys.jobs(), "{hero/r1}:v1:jobs");
        assert_eq!(keys.events(), "{hero}:v1:events");
        assert_eq!(keys.changes(), "{hero}:v1:changes");
        assert_eq!(keys.results(), "{hero}:v1:results");
        let home = Keys::tagged("hero");
        assert_eq!(home.directory(), "{hero}:v1:dir");
        assert_eq!(home.changes(), "{hero}:v1:changes");
    }
}
