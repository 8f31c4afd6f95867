//! One claimed job: execute it under its timeout and cancellation token, then report.
//!
//! [`Worker::run_job`] runs each job of a job task the claim loop spawns, inside a span
//! carrying the job id and attempt (so the log lines here do not repeat them). A job of
//! another executor than this runner's, or below this runner's access level, is refused
//! unexecuted. Everything the task tells the store carries the claim's attempt token, so a run
//! that outlives its job (deleted, requeued, ended elsewhere) can never speak for a later run
//! of the same id. The executor runs in a task of its own, so a panic becomes a failed job
//! instead of a lost one; the progress it reports is written beside it by a `Pusher` (see
//! `progress`), whose last value goes out before the report.

use std::sync::Arc;
use std::time::Duration;

use hero_job::{Job, JobResult, JobStatus, Level};
use hero_store::{Attempt, Claimed, Finish, NextClaim, Store};
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::backoff::Backoff;
use crate::counters::Counters;
use crate::executor::{Executor, JobContext};
use crate::inflight::InFlight;
use crate::progress::Pusher;

/// How long a cancelled executor may take to return before it is dropped.
const EXECUTOR_GRACE: Duration = Duration::from_secs(1);

/// Largest output or error message a job may report: 1 MiB.
const MAX_OUTPUT_BYTES: usize = 1 << 20;

/// The error of a job whose runner stopped before it ended.
const SHUTDOWN_MESSAGE: &str = "runner shut down before the job finished";

/// What every job task of one runner shares.
pub(crate) struct Worker {
    pub(crate) id: String,
    /// The runner name (its queue), as jobs address it; named when refusing a job.
    pub(crate) runner: String,
    /// The least level whose jobs run here; see [`RunnerConfig::access`](crate::RunnerConfig).
    pub(crate) access: Level,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) executor: Arc<dyn Executor>,
    /// Where the heartbeat finds each running job's token to deliver a stop.
    pub(crate) inflight: InFlight,
    /// Cancelled when a shutdown outlasts its grace; every job token is its child.
    pub(crate) abort: CancellationToken,
    /// Jobs ended here, for the stats the heartbeat writes.
    pub(crate) counters: Arc<Counters>,
    /// Where a report claims the next job from (the runner's queue and lease).
    pub(crate) next: NextClaim,
    /// Cancelled when the runner begins to shut down: reports claim no next job.
    pub(crate) draining: CancellationToken,
}

/// Why a job ended without its executor's answer.
enum Interrupted {
    Stopped,
    TimedOut,
    Shutdown,
}

impl Worker {
    /// Executes the claimed job and reports its outcome, taking the next job of the queue in
    /// the same step while the runner is not shutting down, and runs that one in turn, until
    /// the queue has none; never fails, logging what cannot be done.
    pub(crate) async fn run_jobs(self: Arc<Self>, claim: Claimed) {
        let mut next = Some(claim);
        while let Some(claim) = next {
            // A span per job, not per task: the jobs a task runs in turn each log their own id.
            let span = tracing::info_span!("job", id = %claim.job.id, token = claim.token);
            next = self.run_job(claim).instrument(span).await;
        }
    }

    /// Executes one claimed job and reports its outcome; returns the next job claimed with
    /// the report.
    async fn run_job(&self, claim: Claimed) -> Option<Claimed> {
        let attempt = claim.attempt();
        let job = Arc::new(claim.job);
        // Held, and so listed by every heartbeat, until its report is accepted: the store
        // takes back a run its worker's heartbeats do not list once its claim is a lease old.
        let token = self.abort.child_token();
        self.inflight.insert(attempt.clone(), token.clone());
        if let Some(refusal) = self.refusal(&job) {
            tracing::warn!(executor = %job.executor, level = %job.level, "job refused: {refusal}");
            let (took, next) = self.report(&attempt, Finish::failed(refusal)).await;
            if took {
                self.counters.ended(JobStatus::Failed);
            }
            self.inflight.remove(&attempt);
            return next;
        }
        let ctx = JobContext::new(job.id.clone(), token);
        tracing::debug!(timeout = job.timeout, "job started");
        let started = Instant::now();
        let pusher = Pusher::new(
            self.store.clone(),
            self.id.clone(),
            attempt.clone(),
            ctx.progress_slot().clone(),
        );
        let finish = pusher.beside(self.execute(&job, ctx)).await;
        tracing::info!(
            status = %finish.status,
            elapsed_ms = started.elapsed().as_millis(),
            "job ended"
        );
        let status = finish.status;
        // Counted once the store took the report: a run ended elsewhere is not this worker's.
        let (took, next) = self.report(&attempt, finish).await;
        if took {
            self.counters.ended(status);
        }
        self.inflight.remove(&attempt);
        next
    }

    /// Why this runner must not execute `job`, if it must not: another executor's job, or a
    /// job submitted below this runner's access level.
    fn refusal(&self, job: &Job) -> Option<String> {
        if job.executor != self.executor.name() {
            return Some(format!(
                "runner {} runs executor {}, not {}",
                self.runner,
                self.executor.name(),
                job.executor
            ));
        }
        if job.level < self.access {
            return Some(format!(
                "runner {} runs jobs of {} secrets only; this job was submitted with a {} secret",
                self.runner, self.access, job.level
            ));
        }
        None
    }

    async fn execute(&self, job: &Arc<Job>, ctx: JobContext) -> Finish {
        let mut execution = spawn_execution(self.executor.clone(), job.clone(), ctx.clone());
        let limit = Duration::from_secs(job.timeout);
        let interrupted = tokio::select! {
            // An answer that is ready counts, even if a stop arrived at the same moment.
            biased;
            joined = &mut execution => return outcome(joined),
            () = ctx.cancelled() => if self.abort.is_cancelled() {
                Interrupted::Shutdown
            } else {
                Interrupted::Stopped
            },
            () = tokio::time::sleep(limit) => Interrupted::TimedOut,
        };
        ctx.token().cancel();
        // The executor may clean up, but its answer no longer counts.
        if tokio::time::timeout(EXECUTOR_GRACE, &mut execution)
            .await
            .is_err()
        {
            execution.abort();
            tracing::warn!("executor ignored cancellation for {EXECUTOR_GRACE:?}; dropped");
        }
        match interrupted {
            Interrupted::Stopped => Finish::stopped("job stopped"),
            Interrupted::TimedOut => {
                Finish::failed(format!("job timed out after {}s", job.timeout))
            }
            Interrupted::Shutdown => Finish::failed(SHUTDOWN_MESSAGE),
        }
    }

    /// Reports `finish`, retrying while the store is unavailable, until the store accepts
    /// the report or refuses it because the run was ended elsewhere. Retrying is always safe:
    /// the store takes a report only for the attempt the worker holds, and only once. True
    /// when the store took it, with the next job it claimed for this worker: one while the
    /// runner is not shutting down and the queue has one.
    async fn report(&self, attempt: &Attempt, finish: Finish) -> (bool, Option<Claimed>) {
        let finish = cap_output(finish);
        let mut backoff = Backoff::store();
        let mut failing = false;
        loop {
            let next = (!self.draining.is_cancelled()).then_some(&self.next);
            let reported = self
                .store
                .finish_and_claim(&self.id, attempt, finish.clone(), next)
                .await;
            match reported {
                // A job claimed as the runner began shutting down still runs: the claim
                // loop's last claim does the same.
                Ok((true, next)) => return (true, next),
                Ok((false, _)) => {
                    tracing::debug!(
                        "this run was ended elsewhere, requeued or deleted; outcome dropped"
                    );
                    return (false, None);
                }
                Err(error) if error.is_retryable() => {
                    let delay = backoff.next_delay();
                    // Logged once per outage, not once per attempt.
                    if !failing {
                        tracing::warn!(%error, "reporting the job's outcome failed; retrying");
                        failing = true;
                    }
                    tokio::time::sleep(delay).await;
                }
                Err(error) => {
                    tracing::error!(%error, "could not report the job's outcome");
                    return (false, None);
                }
            }
        }
    }
}

/// Replaces an output longer than [`MAX_OUTPUT_BYTES`] with an error, so one job cannot
/// fill the store or every waiter's memory.
fn cap_output(finish: Finish) -> Finish {
    let len = match &finish.result {
        JobResult::Success { success } => success.len(),
        JobResult::Error { error } => error.len(),
    };
    if len <= MAX_OUTPUT_BYTES {
        return finish;
    }
    tracing::warn!(len, "job output over the limit; reported as an error");
    Finish::failed(format!(
        "job output is {len} bytes, more than the limit of {MAX_OUTPUT_BYTES}"
    ))
}

fn spawn_execution(
    executor: Arc<dyn Executor>,
    job: Arc<Job>,
    ctx: JobContext,
) -> JoinHandle<Result<String, String>> {
    tokio::spawn(async move { executor.execute(&job, &ctx).await })
}

fn outcome(joined: Result<Result<String, String>, JoinError>) -> Finish {
    match joined {
        Ok(Ok(output)) => Finish::completed(output),
        Ok(Err(message)) => Finish::failed(message),
        Err(error) => {
            let message = match error.try_into_panic() {
                Ok(panic) => panic_message(panic.as_ref()),
                Err(error) => error.to_string(),
            };
            tracing::error!(%message, "executor panicked");
            Finish::failed(format!("executor panicked: {message}"))
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "no message".to_owned()
    }
}
