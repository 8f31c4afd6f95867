//! [`Retention`]: how long a store keeps a finished job before it removes it.

use std::time::Duration;

use hero_job::JobStatus;

/// How long finished jobs are kept, per final status, counted from the moment each job
/// became final.
///
/// A job's removal time is fixed when it ends, from the retention in force then: a change
/// applies to jobs that end after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Kept after `completed`. Default one day.
    pub completed: Duration,
    /// Kept after `failed`. Default seven days.
    pub failed: Duration,
    /// Kept after `stopped`. Default seven days.
    pub stopped: Duration,
}

/// The retention of a `completed` job when none is set.
pub const DEFAULT_COMPLETED_RETENTION: Duration = Duration::from_secs(86_400);

/// The retention of a `failed` or `stopped` job when none is set.
pub const DEFAULT_FAILED_RETENTION: Duration = Duration::from_secs(7 * 86_400);

impl Default for Retention {
    fn default() -> Self {
        Self {
            completed: DEFAULT_COMPLETED_RETENTION,
            failed: DEFAULT_FAILED_RETENTION,
            stopped: DEFAULT_FAILED_RETENTION,
        }
    }
}

impl Retention {
    /// How long a job that ended in `status` is kept; `None` for a status that is not final.
    pub fn of(&self, status: JobStatus) -> Option<Duration> {
        match status {
            JobStatus::Completed => Some(self.completed),
            JobStatus::Failed => Some(self.failed),
            JobStatus::Stopped => Some(self.stopped),
            _ => None,
        }
    }
}
