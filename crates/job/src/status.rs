//! The life cycle of a job: its states and the transitions between them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a job is in its life.
///
/// ```text
/// created ──start──▶ queued ──claim──▶ running ──▶ completed | failed | stopped
///    │  └─▶ scheduled ─▲  │  ▲               │                 │        │
///    │      (due)   │  │  │  └────requeue────┘ (lease expired)  └─retry──┘ (job.retry)
///    └──stop──▶ stopped◀┘  running ──error, retry_on_error──▶ scheduled
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Stored, not queued.
    Created,
    /// Waiting for its time (`delay`, `run_at`, or the backoff before a retry) to be queued.
    Scheduled,
    /// Waiting for its runner.
    Queued,
    /// Claimed by a runner.
    Running,
    /// Finished with output.
    Completed,
    /// Finished with an error: the job's own, a timeout, or its runner died.
    Failed,
    /// Ended by `job.stop`.
    Stopped,
}

impl JobStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [JobStatus; 7] = [
        Self::Created,
        Self::Scheduled,
        Self::Queued,
        Self::Running,
        Self::Completed,
        Self::Failed,
        Self::Stopped,
    ];

    /// The wire name, e.g. `"queued"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Scheduled => "scheduled",
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
        }
    }

    /// True for the states a job never leaves: completed, failed, stopped.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Stopped)
    }

    /// True when a job in this state may move to `next`.
    ///
    /// The one statement of the job's life cycle: the stores follow it (the Redis store's
    /// `end.lua` is given the statuses it allows, and the store conformance suite fails any
    /// operation that makes another change). A `created` job may only be queued, scheduled
    /// or stopped: it never ran, so it cannot complete, fail or time out. A `scheduled` job
    /// becomes `queued` when its time comes. A `queued` or `scheduled` job may fail without
    /// running (a caller's wait ran out); a `running` one may return to `queued` when its
    /// runner is lost and it has retries left, or to `scheduled` when it failed and asked to
    /// be retried after an error. `job.retry` queues a `failed` or `stopped` job again; a
    /// `completed` one is never left.
    pub fn can_become(self, next: JobStatus) -> bool {
        use JobStatus::*;
        matches!(
            (self, next),
            (Created, Queued | Scheduled | Stopped)
                | (Scheduled, Queued | Failed | Stopped)
                | (Queued, Running | Failed | Stopped)
                | (Running, Completed | Failed | Stopped | Queued | Scheduled)
                | (Failed | Stopped, Queued)
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of the six statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown job status `{0}`")]
pub struct UnknownStatus(String);

impl FromStr for JobStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// Lets callers write `status.status == "completed"`.
impl PartialEq<&str> for JobStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for JobStatus {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// The answer of `job.status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JobStatusInfo {
    /// The job's id.
    pub job_id: String,
    /// Where the job is in its life.
    pub status: JobStatus,
    /// When the job was stored.
    pub created_at: DateTime<Utc>,
    /// When a runner claimed it, if one has.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a final state, if it has.
    pub completed_at: Option<DateTime<Utc>>,
    /// Why a queued job is still waiting, when its runner looks absent (not running, or not
    /// seen taking jobs lately); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The latest progress the job reported while running, kept once it ends; absent when
    /// it reported none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<crate::Progress>,
    /// The number of the current or last run, from 1; 0 before the first run.
    #[serde(default)]
    pub attempt: u32,
    /// The error of the latest failed run, retried or final; absent when no run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_states_are_left_only_by_a_retry() {
        for from in JobStatus::ALL.into_iter().filter(|s| s.is_final()) {
            for to in JobStatus::ALL {
                let retry = from != JobStatus::Completed && to == JobStatus::Queued;
                assert_eq!(from.can_become(to), retry, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn a_scheduled_job_waits_before_its_queue() {
        assert!(JobStatus::Created.can_become(JobStatus::Scheduled));
        assert!(JobStatus::Scheduled.can_become(JobStatus::Queued));
        assert!(!JobStatus::Scheduled.can_become(JobStatus::Running));
        assert!(JobStatus::Running.can_become(JobStatus::Scheduled));
        assert!(!JobStatus::Scheduled.is_final());
    }

    #[test]
    fn a_created_job_cannot_run_before_it_is_queued() {
        assert!(!JobStatus::Created.can_become(JobStatus::Running));
        assert!(JobStatus::Created.can_become(JobStatus::Queued));
    }

    #[test]
    fn names_round_trip() {
        for status in JobStatus::ALL {
            assert_eq!(status.as_str().parse::<JobStatus>().unwrap(), status);
            let json = serde_json::to_value(status).unwrap();
            assert_eq!(json, status.as_str());
        }
        assert!("done".parse::<JobStatus>().is_err());
    }

    #[test]
    fn compares_with_its_wire_name() {
        assert!(JobStatus::Completed == "completed");
        assert!(JobStatus::Failed != "completed");
    }
}
