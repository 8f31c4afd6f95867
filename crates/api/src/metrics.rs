//! What `metrics.history` returns: the supervisor's recent samples of throughput, latency and
//! load, for charts over the last hour.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The answer of `metrics.history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricsHistory {
    /// Seconds between two samples (`[metrics] history_interval_secs`, default 10).
    pub interval_secs: u64,
    /// The samples since this supervisor started, at most 360, oldest first.
    pub samples: Vec<MetricsSample>,
}

/// What happened in one interval, and the load at its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricsSample {
    /// The end of the interval, in Unix milliseconds.
    pub at_ms: i64,
    /// Jobs submitted in the interval, across the whole store (every supervisor's).
    pub submitted: u64,
    /// Jobs that ended `completed` in the interval, across the whole store.
    pub completed: u64,
    /// Jobs that ended `failed` in the interval, across the whole store.
    pub failed: u64,
    /// Jobs that ended `stopped` in the interval, across the whole store.
    pub stopped: u64,
    /// Median wait (queued to claimed, ms) of the jobs claimed in the interval; `null` when
    /// none was.
    pub wait_p50_ms: Option<f64>,
    /// 95th percentile of the same waits; `null` when no job was claimed.
    pub wait_p95_ms: Option<f64>,
    /// Median run time (claimed to ended, ms) of the jobs that ended in the interval; `null`
    /// when none did.
    pub duration_p50_ms: Option<f64>,
    /// 95th percentile of the same run times; `null` when no job ended.
    pub duration_p95_ms: Option<f64>,
    /// Jobs queued at `at_ms`, across the whole store.
    pub queued: u64,
    /// Jobs running at `at_ms`, across the whole store.
    pub running: u64,
}
