//! A builder that produces a validated [`Job`].

use std::collections::BTreeMap;

use chrono::Utc;

use crate::{DEFAULT_TIMEOUT_SECS, Error, Job, Level, Limits};

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
