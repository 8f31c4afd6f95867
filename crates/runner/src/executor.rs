//! What a runner implements: [`Executor`], and the [`JobContext`] it receives with each job.
//!
//! The SDK calls [`Executor::execute`] once per claimed job; everything around that call
//! (claiming, timeouts, stop requests, reporting) lives in the rest of this crate.

use async_trait::async_trait;
use hero_job::{Job, Level, Progress};
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::progress::ProgressSlot;

/// The work a runner does: turns one job into its output or its error.
///
/// Called concurrently for up to [`RunnerConfig::concurrency`](crate::RunnerConfig) jobs, and
/// only for jobs whose `executor` field is [`name`](Self::name): the SDK refuses any other
/// job with `{"error": "runner R runs executor E, not F"}` without calling `execute`.
/// `Ok(output)` completes the job with `{"success": output}`, `Err(message)` fails it with
/// `{"error": message}`.
///
/// A runner whose access is [`Level::Admin`] also refuses, unexecuted, every job whose
/// `level` is not `admin`; [`default_access`](Self::default_access) is that access when
/// the command line does not give one.
///
/// # Cancel safety
///
/// When the job is stopped, times out or the runner shuts down, [`JobContext::cancelled`]
/// fires; the executor should then return soon (within a second), with any result. An
/// executor that does not is dropped at its next `.await` and its result discarded, so
/// blocking work must watch the token itself.
#[async_trait]
pub trait Executor: Send + Sync + 'static {
    /// The executor this is, as jobs name it in their `executor` field, e.g. `osis`.
    fn name(&self) -> &str;

    /// The least secret level whose jobs this executor runs, unless `--access` or
    /// `HERO_RUNNER_ACCESS` says otherwise. Default: `user`; an executor with system access
    /// returns `admin`, so a copy started by hand is not open to users.
    fn default_access(&self) -> Level {
        Level::User
    }

    /// Runs `job` and returns its output, or an error message.
    async fn execute(&self, job: &Job, ctx: &JobContext) -> Result<String, String>;
}

/// What an executor knows about the job it runs beyond the job itself.
#[derive(Debug, Clone)]
pub struct JobContext {
    job_id: String,
    /// Cancelled on `job.stop`, on timeout and on a shutdown that outlasts the grace period.
    token: CancellationToken,
    /// Where [`progress`](Self::progress) leaves the latest value for the SDK to send.
    progress: ProgressSlot,
}

impl JobContext {
    /// A context for the job `job_id`, cancelled through `token`.
    ///
    /// The SDK builds one per claimed job; tests of an executor build their own.
    pub fn new(job_id: impl Into<String>, token: CancellationToken) -> Self {
        Self {
            job_id: job_id.into(),
            token,
            progress: ProgressSlot::default(),
        }
    }

    /// The id of the job being executed.
    pub fn job_id(&self) -> &str {
        &self.job_id
    }

    /// Completes once the job should stop: stopped, timed out, or the runner is shutting down.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future and calling again loses nothing.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }

    /// True once the job should stop.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The job's cancellation token, to hand to tasks or threads the executor starts.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Reports how far the job is: `percent` (above 100 counts as 100) and a `message` (cut
    /// to 1 KiB on a character boundary). `job.status` shows the latest as `progress`, also
    /// once the job has ended.
    ///
    /// Cheap and never blocking: it only keeps the value. The SDK writes the latest value at
    /// most every 250 ms, so rapid reports coalesce, and writes the last one before the job's
    /// outcome. Progress is advisory: a value the store cannot take is dropped.
    pub fn progress(&self, percent: u8, message: impl Into<String>) {
        self.progress.set(Progress::new(percent, message));
    }

    /// The latest progress reported through [`progress`](Self::progress), for tests of an
    /// executor.
    pub fn last_progress(&self) -> Option<Progress> {
        self.progress.latest()
    }

    pub(crate) fn progress_slot(&self) -> &ProgressSlot {
        &self.progress
    }
}
