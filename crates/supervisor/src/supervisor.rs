//! The state every RPC call shares.

use std::sync::Arc;

use hero_store::Store;

use crate::auth::Secrets;
use crate::error::Error;
use crate::registry::Registry;

/// What the API needs to serve a call: the store, the secrets, the limits.
pub(crate) struct Supervisor {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) secrets: Secrets,
    /// The `require_secret_for_reads` switch for `job.status` and `job.result`.
    pub(crate) require_secret_for_reads: bool,
    /// The `accept_unknown_runners` switch: jobs for runners nobody knows wait instead of
    /// being refused.
    pub(crate) accept_unknown_runners: bool,
    pub(crate) job_limits: hero_job::Limits,
    /// Most log lines one call returns.
    pub(crate) max_log_lines: usize,
    /// Most jobs one `jobs.create_many` call may submit.
    pub(crate) max_jobs_per_call: usize,
    /// Most schedules the store may hold, `[limits] max_schedules`.
    pub(crate) max_schedules: usize,
    /// Wakes the ticker when this supervisor stores a schedule, whose first tick may come
    /// before the ticker's next look at the store.
    pub(crate) schedules_changed: tokio::sync::Notify,
    /// Names the backend in `/health`.
    pub(crate) backend: &'static str,
    /// The actors this supervisor runs.
    pub(crate) registry: Registry,
    /// The store's key prefix, reported by `get_supervisor_info`.
    pub(crate) namespace: String,
    /// One permit per call waiting for a job, `[limits] max_connections` in all: waits that
    /// last a job's whole timeout never take the connections other calls need.
    pub(crate) waits: tokio::sync::Semaphore,
    /// The number of permits `waits` started with, for the refusal's message.
    pub(crate) max_waits: u32,
    /// Half of `waits`, also taken by a `job.result` sent without a secret (the job id is
    /// enough to read it): whoever holds ids only can never take the permits `job.run` needs.
    pub(crate) anonymous_waits: tokio::sync::Semaphore,
    /// Cancelled when the supervisor begins to shut down: waiting calls answer at once
    /// instead of holding the server's stop until their jobs end.
    pub(crate) shutdown: tokio_util::sync::CancellationToken,
    /// Most events one subscription may have waiting to be sent before it is ended.
    pub(crate) max_events_per_subscription: usize,
    /// The `jobs.subscribe` subscriptions and the task feeding them the store's changes.
    pub(crate) hub: Arc<crate::events::Hub>,
    /// When this supervisor started, for its uptime.
    pub(crate) started: std::time::Instant,
    /// What `GET /metrics` and `metrics.history` show of this supervisor's own measures.
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
    /// The `[metrics] require_secret` switch: `GET /metrics` needs an admin bearer secret.
    pub(crate) metrics_require_secret: bool,
    /// The registered runners the submit check reads, kept for a moment.
    pub(crate) known_runners: crate::rpc::RunnersCache,
}

/// Held for as long as a call waits for a job; dropping it lets another call wait.
pub(crate) struct WaitPermit<'a> {
    _any: tokio::sync::SemaphorePermit<'a>,
    _anonymous: Option<tokio::sync::SemaphorePermit<'a>>,
}

impl Supervisor {
    /// A permit to wait for a job, held for the whole wait.
    ///
    /// # Errors
    ///
    /// [`Error::TooManyWaits`] when `[limits] max_connections` calls already wait.
    pub(crate) fn wait_permit(&self) -> Result<WaitPermit<'_>, Error> {
        Ok(WaitPermit {
            _any: self.any_wait()?,
            _anonymous: None,
        })
    }

    /// A permit for a wait whose caller sent no secret: one of [`Self::wait_permit`]'s, and
    /// one of the half of them that such callers share.
    ///
    /// # Errors
    ///
    /// [`Error::TooManyWaits`] when half of `[limits] max_connections` calls without a
    /// secret, or all of them in all, already wait.
    pub(crate) fn anonymous_wait_permit(&self) -> Result<WaitPermit<'_>, Error> {
        let anonymous = self
            .anonymous_waits
            .try_acquire()
            .map_err(|_| self.too_many_waits())?;
        Ok(WaitPermit {
            _any: self.any_wait()?,
            _anonymous: Some(anonymous),
        })
    }

    fn any_wait(&self) -> Result<tokio::sync::SemaphorePermit<'_>, Error> {
        self.waits.try_acquire().map_err(|_| self.too_many_waits())
    }

    fn too_many_waits(&self) -> Error {
        Error::TooManyWaits {
            max: self.max_waits,
        }
    }
}
