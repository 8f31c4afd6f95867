//! The `Store` trait.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hero_job::{Job, JobRecord, JobResult, JobStatus, Progress};

use crate::{Result, Retention, ScheduleRecord, TickClaim};

/// How a job ends: its final status and result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    /// `completed`, `failed` or `stopped`.
    pub status: JobStatus,
    /// The output or the error.
    pub result: JobResult,
}

impl Finish {
    /// The job succeeded with `output`.
    pub fn completed(output: impl Into<String>) -> Self {
        Self {
            status: JobStatus::Completed,
            result: JobResult::success(output),
        }
    }

    /// The job failed with `message`.
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            status: JobStatus::Failed,
            result: JobResult::error(message),
        }
    }

    /// The job was stopped; `message` says by whom or why.
    pub fn stopped(message: impl Into<String>) -> Self {
        Self {
            status: JobStatus::Stopped,
            result: JobResult::error(message),
        }
    }
}

/// A runner registered with `register_runner`: started by hand, possibly on another host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerRecord {
    /// Its name.
    pub name: String,
    /// The queue it takes jobs from.
    pub queue: String,
    /// The least secret level that may submit jobs to it.
    pub access: RunnerAccess,
    /// When it was registered.
    pub registered_at: DateTime<Utc>,
}

/// The least secret level that may submit jobs to a runner: the job's level type, so a runner
/// and a job compare directly.
pub use hero_job::Level as RunnerAccess;

/// One run of a job: its id and the token of the claim that started the run.
///
/// Every claim draws a token no other claim in the store ever had, so a report, heartbeat or
/// stop check carrying an older token (a run that was requeued, stopped, or whose job was
/// deleted and its id reused) is told apart from the current run and ignored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attempt {
    /// The job's id.
    pub id: String,
    /// The claim's token: unique across the store, never reused.
    pub token: u64,
}

/// The queue a worker claims its next job from when it reports one
/// ([`Store::finish_and_claim`]), and the lease that claim renews.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextClaim {
    /// The queue (runner name).
    pub queue: String,
    /// The worker's lease, renewed by the claim.
    pub lease: Duration,
}

/// A job a worker claimed, with the token of this claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The job as submitted.
    pub job: Job,
    /// This claim's token; every later word about this run carries it.
    pub token: u64,
}

impl Claimed {
    /// The run this claim started.
    pub fn attempt(&self) -> Attempt {
        Attempt {
            id: self.job.id.clone(),
            token: self.token,
        }
    }
}

/// What [`Store::stop_job`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// The job was created or queued; it is now `stopped` and off its queue.
    Stopped,
    /// The job is running; its runner is asked to interrupt it and report `stopped`.
    Requested,
    /// The job was already final and is left as it was.
    AlreadyFinal,
}

/// Times a job may lose its runner while running before it is failed, whatever its
/// [`Job::retries`] allow: a job that kills its runner (out of memory, abort) would otherwise
/// take it down again on every retry.
pub const MAX_RUNNER_LOSSES: u32 = 2;

/// How long past its timeout a running job may go before the reaper fails it: room for its
/// runner to interrupt it and report, so the backstop only catches runners that do not.
pub const TIMEOUT_GRACE: Duration = Duration::from_secs(5);

/// What one reaping pass changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reaped {
    /// Jobs failed as "runner lost", or stopped when a stop had been asked.
    pub failed: u64,
    /// Jobs returned to their queue for another attempt.
    pub requeued: u64,
    /// Jobs failed as still running past their timeout plus [`TIMEOUT_GRACE`].
    pub timed_out: u64,
    /// Finished jobs removed because their [`Retention`] passed.
    pub expired: u64,
}

impl Reaped {
    /// True when the pass changed nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// True when the pass ended or requeued a job: a lost runner or a timeout, worth telling
    /// an operator, unlike the routine removal of expired jobs.
    pub fn ended_any(&self) -> bool {
        self.failed + self.requeued + self.timed_out > 0
    }
}

/// What one [`Store::promote_due`] pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Promoted {
    /// `scheduled` jobs moved to their queue because their time came.
    pub queued: u64,
    /// When the earliest job still `scheduled` comes due (by the store's clock); `None` when
    /// none waits.
    pub next_due: Option<DateTime<Utc>>,
}

/// The jobs [`Store::list_jobs`] returns: those matching every condition set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFilter {
    /// Any of these statuses; empty for any status.
    pub status: Vec<JobStatus>,
    /// This runner's jobs.
    pub runner: Option<String>,
    /// Jobs with this `caller_id`.
    pub caller_id: Option<String>,
    /// Jobs with this `context_id`.
    pub context_id: Option<String>,
    /// Jobs of this owner (as passed to [`Store::create_job`]).
    pub owner: Option<String>,
    /// The most jobs returned.
    pub limit: usize,
    /// Only jobs listed after this one: created before it (or in the same millisecond with a
    /// smaller id). The page after a page ending with this id.
    pub before: Option<String>,
}

/// The most jobs one listing returns when the caller does not say.
pub const DEFAULT_LIST_LIMIT: usize = 1000;

/// The most jobs one listing may return.
pub const MAX_LIST_LIMIT: usize = 10_000;

impl Default for JobFilter {
    fn default() -> Self {
        Self {
            status: Vec::new(),
            runner: None,
            caller_id: None,
            context_id: None,
            owner: None,
            limit: DEFAULT_LIST_LIMIT,
            before: None,
        }
    }
}

impl JobFilter {
    /// Every job, up to the largest listing.
    pub fn all() -> Self {
        Self {
            limit: MAX_LIST_LIMIT,
            ..Self::default()
        }
    }

    /// True when `record` meets every condition but `before` and `limit`.
    pub fn matches(&self, record: &JobRecord) -> bool {
        (self.status.is_empty() || self.status.contains(&record.status))
            && self.runner.as_ref().is_none_or(|r| *r == record.job.runner)
            && self
                .caller_id
                .as_ref()
                .is_none_or(|c| *c == record.job.caller_id)
            && self
                .context_id
                .as_ref()
                .is_none_or(|c| *c == record.job.context_id)
            && self
                .owner
                .as_ref()
                .is_none_or(|o| Some(o) == record.owner.as_ref())
    }
}

/// Where jobs, queues, claims and results live.
///
/// Every multi-step change is atomic: a crash between two calls never leaves a job half-moved.
/// Timestamps come from the caller's clock; ids are chosen by the caller.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores `job` (its `id` set) with status `created`, owned by `owner`.
    ///
    /// `owner` is opaque to the store (the supervisor passes the SHA-256 of the creating
    /// secret) and comes back as [`JobRecord::owner`]; `None` stores a job without one.
    ///
    /// # Errors
    ///
    /// [`Error::JobExists`](crate::Error::JobExists) when the id is taken.
    async fn create_job(&self, job: &Job, owner: Option<&str>) -> Result<()>;

    /// Moves a `created` job to `queued`, at the back of its runner's queue, or to
    /// `scheduled` when its time ([`Job::due_ms`]) has not come.
    ///
    /// With `owner` set, only a job owned by it is started (see [`JobRecord::owner`]); `None`
    /// starts any. The check and the change are one step, so a job deleted and created again
    /// under the same id by someone else in between is never touched.
    ///
    /// # Errors
    ///
    /// `JobNotFound`, also when the job has another owner, or `WrongState` when the job was
    /// already started.
    async fn start_job(&self, id: &str, owner: Option<&str>) -> Result<()>;

    /// Stores `job` and queues it in one step: `create_job` and `start_job` together (so a
    /// job whose time has not come is stored `scheduled`).
    ///
    /// # Errors
    ///
    /// As [`create_job`](Self::create_job).
    async fn submit_job(&self, job: &Job, owner: Option<&str>) -> Result<()>;

    /// Stores `jobs` (their ids set and distinct), owned by `owner`, with status `queued` at the
    /// back of their runners' queues in order when `start`, `created` otherwise.
    ///
    /// Atomic per call: when one id is taken nothing is stored. A store may cut a long call
    /// into chunks; it then checks every id before it stores the first chunk, so only a job
    /// created under the same id by someone else in between can leave earlier chunks stored.
    ///
    /// # Errors
    ///
    /// [`Error::JobExists`](crate::Error::JobExists) naming the first taken id.
    async fn submit_jobs(&self, jobs: &[Job], owner: Option<&str>, start: bool) -> Result<()>;

    /// Stores and queues `job` like [`submit_job`](Self::submit_job), then waits like
    /// [`wait_final`](Self::wait_final): `job.run` in one call, which a store may serve with
    /// fewer round trips than the two calls.
    ///
    /// # Errors
    ///
    /// As `submit_job` and `wait_final`.
    async fn run_job(
        &self,
        job: &Job,
        owner: Option<&str>,
        timeout: Duration,
    ) -> Result<JobRecord> {
        self.submit_job(job, owner).await?;
        self.wait_final(&job.id, timeout).await
    }

    /// The job with its state.
    ///
    /// # Errors
    ///
    /// `JobNotFound`.
    async fn job(&self, id: &str) -> Result<JobRecord>;

    /// The stored jobs `filter` selects, newest first (jobs created in the same millisecond by
    /// id, descending), at most `filter.limit` of them.
    ///
    /// # Errors
    ///
    /// `JobNotFound` when `filter.before` names no stored job.
    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobRecord>>;

    /// Removes the job, its result and its queue entry.
    ///
    /// `owner` as for [`start_job`](Self::start_job): checked in the same step.
    ///
    /// # Errors
    ///
    /// `JobNotFound`, also when the job has another owner.
    async fn delete_job(&self, id: &str, owner: Option<&str>) -> Result<()>;

    /// Stops a job: see [`StopOutcome`] for each case.
    ///
    /// `owner` as for [`start_job`](Self::start_job): checked in the same step.
    ///
    /// # Errors
    ///
    /// `JobNotFound`, also when the job has another owner.
    async fn stop_job(&self, id: &str, owner: Option<&str>) -> Result<StopOutcome>;

    /// Ends a queued or running job with `finish` (`failed` or `stopped`), and returns its
    /// record as it then is.
    ///
    /// A job already final, or only `created` (it was never started, so nothing of it runs),
    /// is left as it is. A later report by the runner that held the job is refused, so the
    /// first final state stands.
    ///
    /// # Errors
    ///
    /// `JobNotFound`.
    async fn end_job(&self, id: &str, finish: Finish) -> Result<JobRecord>;

    /// Waits until the job is final or `timeout` passes, and returns it as it then is.
    ///
    /// Wakes on the job's end, without polling.
    ///
    /// # Errors
    ///
    /// `JobNotFound`, also when the job is deleted while waiting.
    async fn wait_final(&self, id: &str, timeout: Duration) -> Result<JobRecord>;

    /// Takes up to `most` jobs from `queue` for `worker`, the highest [`Job::priority`] first
    /// and, within one priority, oldest first, waiting up to `wait` for the first one.
    ///
    /// The jobs move into the worker's in-flight set and become `running`, each with a new
    /// attempt token; the worker's lease is renewed for `lease`. Empty when no job came in
    /// time. Taking several jobs in one step lets a busy worker claim a batch for the cost of
    /// one. Only jobs whose runner is `queue` are taken; a job whose stored form cannot be
    /// read is reported failed under its own attempt and left out.
    async fn claim(
        &self,
        queue: &str,
        worker: &str,
        lease: Duration,
        wait: Duration,
        most: usize,
    ) -> Result<Vec<Claimed>>;

    /// Renews `worker`'s lease for `lease`, and returns the runs among `running` that it
    /// should give up: their stop was requested, or the worker no longer holds that attempt
    /// (ended by someone else, requeued, or the job deleted, even if its id was reused since).
    ///
    /// `running` must list every run the worker holds: each one executing, and each one
    /// finished whose report is not yet accepted. A run held under this worker that it does
    /// not list and that was claimed more than `lease` ago was claimed by a claim whose reply
    /// never reached it: it goes back to the front of its queue, `queued`, without counting
    /// as a lost runner. Ids the worker took off its queue but never marked running (a claim
    /// whose second half was lost) go back to the front of their own runner's queue.
    async fn heartbeat(
        &self,
        worker: &str,
        lease: Duration,
        running: &[Attempt],
    ) -> Result<Vec<Attempt>>;

    /// Records how the run `attempt` held by `worker` ended, and wakes its waiters.
    ///
    /// A `failed` run of a job with [`Job::retry_on_error`] that has retries left (runs again
    /// after a lost runner count too) is not the end: the job becomes `scheduled` for the
    /// backoff [`Job::retry_backoff_secs`] × 2^(n-1) (n the retry's number), jittered down to
    /// half and capped at [`MAX_RETRY_DELAY_SECS`](hero_job::MAX_RETRY_DELAY_SECS), with its
    /// error kept as the record's `last_error`; its waiters keep waiting.
    ///
    /// Returns `false`, changing nothing, when `worker` no longer holds that attempt: the
    /// job was deleted (even if its id was reused since), requeued, or ended by someone else
    /// (stop, timeout, lost lease) first.
    async fn finish(&self, worker: &str, attempt: &Attempt, finish: Finish) -> Result<bool>;

    /// Records the end of `attempt` as [`finish`](Self::finish) does and, when the store took
    /// it, claims at most one more job of `next`'s queue for `worker` without waiting, as
    /// [`claim`](Self::claim) does: a busy worker reports a job and takes the next in one step.
    ///
    /// A store may do both in one step; this default does them in turn, and a claim that
    /// fails after the report was taken claims nothing (the report's outcome still counts).
    ///
    /// # Errors
    ///
    /// As [`finish`](Self::finish).
    async fn finish_and_claim(
        &self,
        worker: &str,
        attempt: &Attempt,
        finish: Finish,
        next: Option<&NextClaim>,
    ) -> Result<(bool, Option<Claimed>)> {
        let took = self.finish(worker, attempt, finish).await?;
        let Some(next) = next.filter(|_| took) else {
            return Ok((took, None));
        };
        match self
            .claim(&next.queue, worker, next.lease, Duration::ZERO, 1)
            .await
        {
            Ok(mut claimed) => Ok((took, claimed.pop())),
            Err(_) => Ok((took, None)),
        }
    }

    /// Records `progress` as the latest of the run `attempt` held by `worker`, for
    /// `job.status`; it stays on the job once the job ends.
    ///
    /// Returns `false`, changing nothing, unless the job is `running` under that worker and
    /// attempt: a run that outlived its claim, or a report after the end, never overwrites
    /// what the current or final run said.
    async fn progress(&self, worker: &str, attempt: &Attempt, progress: &Progress) -> Result<bool>;

    /// Registers a runner started by hand under `runner.name`.
    ///
    /// # Errors
    ///
    /// `RunnerExists` when the name is taken.
    async fn register_runner(&self, runner: &RunnerRecord) -> Result<()>;

    /// Every registered runner, by name.
    async fn runners(&self) -> Result<Vec<RunnerRecord>>;

    /// Removes the registration of the runner named `name`; its queue and jobs stay.
    ///
    /// # Errors
    ///
    /// `RunnerNotFound` when no runner is registered under that name.
    async fn unregister_runner(&self, name: &str) -> Result<()>;

    /// When a runner last claimed from `queue`, waited on it, or ran one of its jobs;
    /// `None` when never.
    async fn last_seen(&self, queue: &str) -> Result<Option<DateTime<Utc>>>;

    /// Number of jobs in each status; statuses without jobs may be left out.
    ///
    /// Read from counts the store keeps as jobs change, never by reading every job, so it
    /// costs the same at a million jobs as at ten.
    async fn job_counts(&self) -> Result<HashMap<JobStatus, u64>>;

    /// Sets how long finished jobs are kept, for every process sharing the store (runners
    /// finishing jobs on other hosts included). A store where none was set keeps them for
    /// [`Retention::default`]. Each job's removal time is fixed when it ends, so the change
    /// applies to the jobs that end after it.
    async fn put_retention(&self, retention: &Retention) -> Result<()>;

    /// Secrets granted or revoked at run time: SHA-256 (hex) of the secret → `admin`, `user`,
    /// `register`, or `revoked`. The secrets themselves are never stored.
    async fn secret_grants(&self) -> Result<HashMap<String, String>>;

    /// Records `grant` for the secret hashed `hash`, and tells every process sharing the
    /// store (see [`watch_secrets`](Self::watch_secrets)). The telling may be lost (a
    /// dropped connection): holders of a copy also reload it now and then.
    ///
    /// Returns `false`, changing nothing, when the secret is the last admin and the grant
    /// would make it something else: the admins are `config_admins` (hashes of the caller's
    /// configured admin secrets) that no grant overrides, plus every secret granted `admin`,
    /// counted and changed in one atomic step.
    async fn put_secret_grant(
        &self,
        hash: &str,
        grant: &str,
        config_admins: &[String],
    ) -> Result<bool>;

    /// A counter that changes whenever secret grants may have changed, in this process or
    /// any other sharing the store, so holders of a copy know to reload it.
    async fn watch_secrets(&self) -> Result<tokio::sync::watch::Receiver<u64>>;

    /// Every change of every job from now on, made by this process or any other sharing the
    /// store: created, queued (submitted, started or requeued), running (claimed, and each
    /// progress report), completed, failed, stopped, deleted. Jobs that expire are not
    /// announced.
    ///
    /// Returns once the changes are being received, so a change made after it returns is
    /// never missed. A receiver that falls [`WATCH_CAPACITY`](crate::WATCH_CAPACITY) changes
    /// behind loses the oldest (`Lagged`); when changes may have been lost otherwise (the
    /// store's connection dropped), every receiver gets [`Watched::Missed`](crate::Watched).
    ///
    /// # Errors
    ///
    /// `Unavailable` when the changes cannot be subscribed to.
    async fn watch_jobs(&self) -> Result<tokio::sync::broadcast::Receiver<crate::Watched>>;

    /// The results of the jobs `ids`, in order: `None` for a job that has none yet or does not
    /// exist. Reads nothing else of the jobs, in one round trip.
    async fn results(&self, ids: &[String]) -> Result<Vec<Option<JobResult>>>;

    /// Ends the jobs of workers whose lease expired: a running job goes back to its queue
    /// while it has retries left ([`Job::retries`]) and fails with "runner lost" otherwise
    /// (ends `stopped` when a stop was asked); a job that lost its runner
    /// [`MAX_RUNNER_LOSSES`] times fails whatever its retries;
    /// ids they took but never marked return to their queue. Also fails, as timed out, any
    /// job still running [`TIMEOUT_GRACE`] after its timeout, whatever its runner does.
    /// And removes the finished jobs whose [`Retention`] has passed, with every trace of them
    /// (their entries in the listing's indexes and counts): they are then not found. A pass
    /// removes a bounded number of them, so a large backlog takes several passes and never
    /// holds the store for long.
    /// Safe to call from several processes at once.
    async fn reap_expired(&self) -> Result<Reaped>;

    /// Stores `schedule` unless its name is taken or the store already holds `max` schedules,
    /// checked and stored in one step.
    ///
    /// # Errors
    ///
    /// [`Error::ScheduleExists`](crate::Error::ScheduleExists),
    /// [`Error::TooManySchedules`](crate::Error::TooManySchedules).
    async fn put_schedule(&self, schedule: &ScheduleRecord, max: usize) -> Result<()>;

    /// Every schedule, by name.
    async fn schedules(&self) -> Result<Vec<ScheduleRecord>>;

    /// Removes the schedule `name`; with `owner` set, only when it owns it, checked in the
    /// same step. Its ticks already created stay as jobs.
    ///
    /// # Errors
    ///
    /// `ScheduleNotFound`, also when another owner has it.
    async fn delete_schedule(&self, name: &str, owner: Option<&str>) -> Result<()>;

    /// Claims `tick` of the schedule `name` created with `seed`: makes it the schedule's last
    /// tick when its last tick is earlier, in one step, so of any number of processes claiming
    /// the same tick exactly one gets [`TickClaim::Claimed`].
    async fn claim_tick(&self, name: &str, seed: &str, tick: DateTime<Utc>) -> Result<TickClaim>;

    /// Moves the `scheduled` jobs whose time has come to their runner's queue (as
    /// [`start_job`](Self::start_job) does), at most a bounded batch per call, and says when
    /// the next one comes due. Each job moves in one atomic step, so any number of processes
    /// may call it at once and a job is queued once.
    async fn promote_due(&self) -> Result<Promoted>;

    /// A counter that changes whenever a job may have become the earliest `scheduled` one,
    /// in this process or any other sharing the store (also when such news may have been
    /// lost), so a promoter sleeping until the earliest due time knows to look again.
    async fn watch_scheduled(&self) -> Result<tokio::sync::watch::Receiver<u64>>;

    /// Queues a `failed` or `stopped` job again, as a fresh job: its result, progress and
    /// count of runs are cleared (it gets all its `retries` again), and it is no longer due
    /// for removal. It is queued at once, whatever its `delay` or `run_at` said.
    ///
    /// `owner` as for [`start_job`](Self::start_job): checked in the same step.
    ///
    /// # Errors
    ///
    /// `JobNotFound`, also when the job has another owner; `WrongState` when it is neither
    /// `failed` nor `stopped`.
    async fn retry_job(&self, id: &str, owner: Option<&str>) -> Result<()>;

    /// Number of jobs waiting on `queue`, of every priority.
    async fn queue_len(&self, queue: &str) -> Result<u64>;

    /// The job counters kept for every process sharing the store: one read, whatever the
    /// number of jobs.
    async fn job_stats(&self) -> Result<crate::JobStats>;

    /// The load of each of `runners` (queue names), in order, read in one round trip; never
    /// reads a job.
    async fn runner_loads(&self, runners: &[String]) -> Result<Vec<crate::RunnerLoad>>;

    /// Records what a worker reports of itself, kept for `ttl`: a worker that stops writing
    /// it disappears from [`worker_stats`](Self::worker_stats) once `ttl` has passed.
    async fn put_worker_stats(&self, stats: &crate::WorkerStats, ttl: Duration) -> Result<()>;

    /// What every live worker last reported of itself (see
    /// [`put_worker_stats`](Self::put_worker_stats)), by worker id.
    async fn worker_stats(&self) -> Result<Vec<crate::WorkerStats>>;

    /// Checks that the backend answers.
    ///
    /// # Errors
    ///
    /// `Unavailable` with the backend's reason.
    async fn health(&self) -> Result<()>;
}
