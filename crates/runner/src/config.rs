//! [`RunnerConfig`]: which queue a runner serves and the timings it keeps.

use std::time::Duration;

use hero_job::Level;

use crate::Error;

/// How a runner claims, runs and reports jobs.
///
/// [`RunnerConfig::new`] gives every field its default; change fields directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerConfig {
    /// The runner name: the queue jobs are claimed from (a job's `runner` field).
    pub queue: String,
    /// This process's worker id, unique among all runners on the store: claims, leases and
    /// reports are made under it. Default: `{queue}-{uuid}` (UUID v4, simple form).
    pub worker: String,
    /// Most jobs executed at once. Default: 4. Must be at least 1.
    pub concurrency: usize,
    /// The least secret level whose jobs this runner executes: at `admin`, a job submitted
    /// with a user secret (its `level` is not `admin`) is refused unexecuted. This holds even
    /// when the supervisor's own check is bypassed (a runner nobody registered, a job queued
    /// before the runner became admin-only). Default: `user`.
    pub access: Level,
    /// How long the store keeps this worker's claims alive without a heartbeat; once it
    /// passes, the store may hand the jobs to the reaper. Default: 15 s.
    pub lease: Duration,
    /// Time between heartbeats. Heartbeats renew the lease and deliver stop requests, so this
    /// bounds the latency of `job.stop`. Default: 500 ms. Must be non-zero and below `lease`.
    pub heartbeat: Duration,
    /// How long one claim waits for a job before asking again. A shutdown lets the claim
    /// under way finish, so this also bounds how long a shutdown takes to stop claiming.
    /// Default: 1 s.
    pub claim_wait: Duration,
    /// How long a shutdown waits for running jobs before cancelling them and reporting them
    /// failed. Default: 10 s.
    pub shutdown_grace: Duration,
}

impl RunnerConfig {
    /// The default configuration for a runner serving `queue`.
    pub fn new(queue: impl Into<String>) -> Self {
        let queue = queue.into();
        Self {
            worker: format!("{queue}-{}", uuid::Uuid::new_v4().simple()),
            queue,
            concurrency: 4,
            access: Level::User,
            lease: Duration::from_secs(15),
            heartbeat: Duration::from_millis(500),
            claim_wait: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(10),
        }
    }

    /// Checks that the runner can work with these values.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first field that is empty, zero, or (for
    /// `heartbeat`) not shorter than the lease it renews.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |field, reason: &str| {
            Err(Error::InvalidConfig {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.queue.is_empty() {
            return invalid("queue", "is empty");
        }
        if self.worker.is_empty() {
            return invalid("worker", "is empty");
        }
        if self.concurrency == 0 {
            return invalid("concurrency", "is 0, so no job would ever run");
        }
        if self.heartbeat.is_zero() || self.heartbeat >= self.lease {
            return invalid("heartbeat", "must be non-zero and shorter than `lease`");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_workers_unique() {
        let a = RunnerConfig::new("osis");
        let b = RunnerConfig::new("osis");
        a.validate().expect("defaults are valid");
        assert!(a.worker.starts_with("osis-"));
        assert_ne!(a.worker, b.worker);
    }

    #[test]
    fn zero_concurrency_is_refused() {
        let config = RunnerConfig {
            concurrency: 0,
            ..RunnerConfig::new("q")
        };
        assert!(matches!(
            config.validate(),
            Err(Error::InvalidConfig {
                field: "concurrency",
                ..
            })
        ));
    }

    #[test]
    fn a_heartbeat_slower_than_the_lease_is_refused() {
        let config = RunnerConfig {
            heartbeat: Duration::from_secs(20),
            ..RunnerConfig::new("q")
        };
        assert!(matches!(
            config.validate(),
            Err(Error::InvalidConfig {
                field: "heartbeat",
                ..
            })
        ));
    }
}
