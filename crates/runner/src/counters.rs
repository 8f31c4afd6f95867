//! [`Counters`]: what this worker counts of its own jobs, written to the store beside its
//! heartbeat (see `heartbeat`) so `/metrics` shows runners on any host.

use std::sync::atomic::{AtomicU64, Ordering};

use hero_job::JobStatus;

/// Jobs this worker ran since it started, and how many of them failed.
///
/// Atomics, not a lock: every job task adds to them once, the heartbeat reads them.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    jobs: AtomicU64,
    failures: AtomicU64,
}

impl Counters {
    /// Counts a job that ended here with `status`.
    pub(crate) fn ended(&self, status: JobStatus) {
        self.jobs.fetch_add(1, Ordering::Relaxed);
        if status == JobStatus::Failed {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Jobs ended here, and of those the failed ones.
    pub(crate) fn read(&self) -> (u64, u64) {
        (
            self.jobs.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failed_jobs_count_as_failures() {
        let counters = Counters::default();
        counters.ended(JobStatus::Completed);
        counters.ended(JobStatus::Failed);
        counters.ended(JobStatus::Stopped);
        assert_eq!(counters.read(), (3, 1));
    }
}
