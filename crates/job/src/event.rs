//! [`JobEvent`]: one change of a job, as `jobs.subscribe` sends it.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{JobResult, JobStatus, Progress};

/// What a job became: one of its statuses, or `deleted` (removed by `job.delete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    /// Stored, not queued.
    Created,
    /// Waiting for its time to be queued: delayed, or backing off before a retry after an
    /// error.
    Scheduled,
    /// Waiting for its runner: submitted, started, or back on its queue for another attempt.
    Queued,
    /// Claimed by a runner; also the status of every progress report.
    Running,
    /// Finished with output.
    Completed,
    /// Finished with an error: the job's own, a timeout, or its runner died.
    Failed,
    /// Ended by `job.stop`.
    Stopped,
    /// Removed by `job.delete`; nothing of it is left to read.
    Deleted,
}

impl EventStatus {
    /// The wire name, e.g. `"queued"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deleted => "deleted",
            other => other.status().map_or("deleted", JobStatus::as_str),
        }
    }

    /// The job status it is; `None` for `deleted`.
    pub fn status(self) -> Option<JobStatus> {
        Some(match self {
            Self::Created => JobStatus::Created,
            Self::Scheduled => JobStatus::Scheduled,
            Self::Queued => JobStatus::Queued,
            Self::Running => JobStatus::Running,
            Self::Completed => JobStatus::Completed,
            Self::Failed => JobStatus::Failed,
            Self::Stopped => JobStatus::Stopped,
            Self::Deleted => return None,
        })
    }

    /// The status named `name` (a job status or `deleted`).
    pub fn parse(name: &str) -> Option<Self> {
        if name == "deleted" {
            return Some(Self::Deleted);
        }
        name.parse::<JobStatus>().ok().map(Self::from)
    }

    /// True for `completed`, `failed` and `stopped`: the events that carry the result.
    pub fn is_final(self) -> bool {
        self.status().is_some_and(JobStatus::is_final)
    }
}

impl From<JobStatus> for EventStatus {
    fn from(status: JobStatus) -> Self {
        match status {
            JobStatus::Created => Self::Created,
            JobStatus::Scheduled => Self::Scheduled,
            JobStatus::Queued => Self::Queued,
            JobStatus::Running => Self::Running,
            JobStatus::Completed => Self::Completed,
            JobStatus::Failed => Self::Failed,
            JobStatus::Stopped => Self::Stopped,
        }
    }
}

impl std::fmt::Display for EventStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change of a job: the `result` of a `jobs.event` notification.
///
/// Sent for each change of status and each progress report (status `running`, with
/// `progress`); a final event carries the job's `result`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JobEvent {
    /// The job's id.
    pub job_id: String,
    /// The runner the job was submitted to.
    pub runner: String,
    /// What the job became.
    pub status: EventStatus,
    /// When the store made the change, by the store's clock.
    pub at: DateTime<Utc>,
    /// The progress the job reported: present on progress events only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// The job's result: present on final events (`completed`, `failed`, `stopped`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<JobResult>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_deleted_round_trip_by_name() {
        for status in JobStatus::ALL {
            let event = EventStatus::from(status);
            assert_eq!(event.as_str(), status.as_str());
            assert_eq!(EventStatus::parse(status.as_str()), Some(event));
            assert_eq!(serde_json::to_value(event).unwrap(), status.as_str());
        }
        assert_eq!(EventStatus::parse("deleted"), Some(EventStatus::Deleted));
        assert_eq!(EventStatus::Deleted.as_str(), "deleted");
        assert_eq!(EventStatus::parse("done"), None);
    }

    #[test]
    fn only_final_statuses_carry_a_result() {
        assert!(EventStatus::Completed.is_final());
        assert!(!EventStatus::Running.is_final());
        assert!(!EventStatus::Deleted.is_final());
    }

    #[test]
    fn absent_progress_and_result_are_left_out_of_the_wire_form() {
        let event = JobEvent {
            job_id: "j".into(),
            runner: "r".into(),
            status: EventStatus::Queued,
            at: DateTime::from_timestamp_millis(0).unwrap(),
            progress: None,
            result: None,
        };
        let wire = serde_json::to_value(&event).unwrap();
        assert_eq!(
            wire,
            serde_json::json!({"job_id": "j", "runner": "r", "status": "queued",
                               "at": "1970-01-01T00:00:00Z"})
        );
    }
}
