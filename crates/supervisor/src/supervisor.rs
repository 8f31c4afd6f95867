//! The state every RPC call shares.

use std::sync::Arc;

use hero_store::Store;

use crate::auth::Secrets;
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
    /// Names the backend in `/health`.
    pub(crate) backend: &'static str,
    /// The actors this supervisor runs.
    pub(crate) registry: Registry,
    /// The store's key prefix, reported by `get_supervisor_info`.
    pub(crate) namespace: String,
    /// When this supervisor started, for its uptime.
    pub(crate) started: std::time::Instant,
}
