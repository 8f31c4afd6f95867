//! A stored job together with its state.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Job, JobResult, JobStatus, JobStatusInfo, Progress};

/// A job as a store holds it: the submitted job, where it is in its life, and its result.
///
/// Serialized, it is the job's own fields plus `status`, `started_at` and `completed_at`,
/// so clients that expect a plain [`Job`] read it unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JobRecord {
    /// The job as submitted, with its id and timestamps filled in.
    #[serde(flatten)]
    pub job: Job,
    /// Where the job is in its life.
    pub status: JobStatus,
    /// When a runner claimed it.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a final state.
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// The outcome, once final.
    #[serde(default, skip_serializing)]
    pub result: Option<JobResult>,
    /// Who created the job: the SHA-256 (hex) of the creating secret, as the store keeps it;
    /// `None` for jobs stored without one. Never serialized: answers must not carry it.
    #[serde(skip)]
    pub owner: Option<String>,
    /// The latest progress its runner reported (kept once the job ends); `job.status` carries
    /// it.
    #[serde(default, skip_serializing)]
    pub progress: Option<Progress>,
    /// The number of the current or last run, from 1; 0 before the first: `job.status`
    /// carries it.
    #[serde(default, skip_serializing)]
    pub attempt: u32,
    /// The error of the latest failed run, retried or final; `job.status` carries it.
    #[serde(default, skip_serializing)]
    pub last_error: Option<String>,
}

/// A record reads as its job (`record.id`, `record.payload`), so code written for a list of
/// jobs — the product documentation's `jobs_list` example among it — reads a list of records
/// unchanged.
impl std::ops::Deref for JobRecord {
    type Target = Job;

    fn deref(&self) -> &Job {
        &self.job
    }
}

impl JobRecord {
    /// The `job.status` answer for this record.
    pub fn status_info(&self) -> JobStatusInfo {
        JobStatusInfo {
            job_id: self.job.id.clone(),
            status: self.status,
            created_at: self.job.created_at,
            started_at: self.started_at,
            completed_at: self.completed_at,
            reason: None,
            progress: self.progress.clone(),
            attempt: self.attempt,
            last_error: self
                .last_error
                .clone()
                .or_else(|| match (&self.status, &self.result) {
                    (JobStatus::Failed, Some(JobResult::Error { error })) => Some(error.clone()),
                    _ => None,
                }),
        }
    }
}
