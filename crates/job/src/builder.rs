//! A builder that produces a validated [`Job`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::{DEFAULT_RETRY_BACKOFF_SECS, DEFAULT_TIMEOUT_SECS, Error, Job, Level, Limits};

/// Builds a [`Job`] field by field; [`build`](Self::build) validates it.
///
/// The id stays empty unless [`id`](Self::id) is called, so the supervisor assigns a fresh
/// one each time the same built job is submitted.
#[derive(Debug, Clone, Default)]
pub struct JobBuilder {
    id: String,
    caller_id: String,
    context_id: String,
    payload: String,
    executor: String,
    runner: String,
    timeout: Option<u64>,
    retries: u32,
    delay: Option<u64>,
    run_at: Option<DateTime<Utc>>,
    priority: u8,
    retry_on_error: bool,
    retry_backoff_secs: Option<u64>,
    level: Level,
    env_vars: BTreeMap<String, String>,
}

impl JobBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The job id. Default: empty, so the supervisor assigns a UUID v4.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Who submits the job. Default: empty.
    pub fn caller_id(mut self, caller_id: impl Into<String>) -> Self {
        self.caller_id = caller_id.into();
        self
    }

    /// The context the job runs in. Default: empty.
    pub fn context_id(mut self, context_id: impl Into<String>) -> Self {
        self.context_id = context_id.into();
        self
    }

    /// What the runner executes. Required.
    pub fn payload(mut self, payload: impl Into<String>) -> Self {
        self.payload = payload.into();
        self
    }

    /// The kind of runner, e.g. `osis`. Required.
    pub fn executor(mut self, executor: impl Into<String>) -> Self {
        self.executor = executor.into();
        self
    }

    /// The runner (queue) that executes the job. Required.
    pub fn runner(mut self, runner: impl Into<String>) -> Self {
        self.runner = runner.into();
        self
    }

    /// Seconds the job may run. Default: [`DEFAULT_TIMEOUT_SECS`].
    pub fn timeout(mut self, secs: u64) -> Self {
        self.timeout = Some(secs);
        self
    }

    /// Times the job is requeued if its runner is lost while running it. Default: 0 (it fails
    /// as "runner lost"). Only for jobs that are safe to run more than once. A job whose
    /// runner is lost twice fails whatever its retries.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Seconds to wait, from the job's creation, before it may run. Default: none (it runs as
    /// soon as queued). At most [`MAX_DELAY_SECS`](crate::MAX_DELAY_SECS); not with
    /// [`run_at`](Self::run_at).
    pub fn delay(mut self, secs: u64) -> Self {
        self.delay = Some(secs);
        self
    }

    /// When the job may run; a time already past runs it at once. Default: none. Not with
    /// [`delay`](Self::delay).
    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    /// 0–9, higher first within the runner's queue. Default: 0.
    pub fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }

    /// Whether a run that fails (an error or a timeout) is retried, up to
    /// [`retries`](Self::retries) times, after a backoff. Default: false.
    pub fn retry_on_error(mut self, retry: bool) -> Self {
        self.retry_on_error = retry;
        self
    }

    /// Base of the exponential backoff between retries after an error, in seconds. Default:
    /// [`DEFAULT_RETRY_BACKOFF_SECS`]; at most
    /// [`MAX_RETRY_BACKOFF_SECS`](crate::MAX_RETRY_BACKOFF_SECS).
    pub fn retry_backoff_secs(mut self, secs: u64) -> Self {
        self.retry_backoff_secs = Some(secs);
        self
    }

    /// The level of the secret submitting the job. Default: `user`. The supervisor overwrites
    /// it with the level of the secret that calls it, so this matters only to code that writes
    /// jobs into a store directly, as the supervisor does (runner tests, for one).
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Adds one environment variable for the job.
    pub fn env_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env_vars.insert(name.into(), value.into());
        self
    }

    /// Replaces all environment variables. Default: none.
    pub fn env_vars(mut self, env_vars: impl IntoIterator<Item = (String, String)>) -> Self {
        self.env_vars = env_vars.into_iter().collect();
        self
    }

    /// The job, checked against the default [`Limits`].
    ///
    /// # Errors
    ///
    /// The first missing or invalid field.
    pub fn build(self) -> Result<Job, Error> {
        let now = Utc::now();
        let job = Job {
            id: self.id,
            caller_id: self.caller_id,
            context_id: self.context_id,
            payload: self.payload,
            executor: self.executor,
            runner: self.runner,
            timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS),
            env_vars: self.env_vars,
            retries: self.retries,
            delay: self.delay,
            run_at: self.run_at,
            priority: self.priority,
            retry_on_error: self.retry_on_error,
            retry_backoff_secs: self
                .retry_backoff_secs
                .unwrap_or(DEFAULT_RETRY_BACKOFF_SECS),
            level: self.level,
            created_at: now,
            updated_at: now,
        };
        job.validate(&Limits::default())?;
        Ok(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_without_runner_names_the_field() {
        let err = JobBuilder::new()
            .payload("1")
            .executor("osis")
            .build()
            .unwrap_err();
        assert_eq!(err, Error::Missing { field: "runner" });
    }
}
