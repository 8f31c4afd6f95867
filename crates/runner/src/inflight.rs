//! [`InFlight`]: the runs this runner is executing, so a stop request can reach them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use hero_store::Attempt;
use tokio_util::sync::CancellationToken;

/// Cancellation tokens of the running jobs, by run (job id and attempt token); cheap to
/// clone.
///
/// Keyed by run, not by id: a job deleted while running may be created again under its id
/// and claimed by this same runner while the old run is still ending, and each run must get
/// its own stop and its own report.
///
/// A std mutex suffices: every access is a short map operation, never across an `.await`.
#[derive(Debug, Clone, Default)]
pub(crate) struct InFlight {
    jobs: Arc<Mutex<HashMap<Attempt, CancellationToken>>>,
}

impl InFlight {
    /// Registers a run that starts.
    pub(crate) fn insert(&self, attempt: Attempt, token: CancellationToken) {
        self.lock().insert(attempt, token);
    }

    /// Forgets a run once its outcome is reported.
    pub(crate) fn remove(&self, attempt: &Attempt) {
        self.lock().remove(attempt);
    }

    /// The runs going on now.
    pub(crate) fn attempts(&self) -> Vec<Attempt> {
        self.lock().keys().cloned().collect()
    }

    /// Cancels the runs among `attempts` that go on here; others are ignored.
    pub(crate) fn cancel(&self, attempts: &[Attempt]) {
        let jobs = self.lock();
        for attempt in attempts {
            if let Some(token) = jobs.get(attempt) {
                if !token.is_cancelled() {
                    tracing::info!(
                        job = %attempt.id,
                        attempt = attempt.token,
                        "giving the job up: stop requested, or ended elsewhere"
                    );
                }
                token.cancel();
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Attempt, CancellationToken>> {
        // Each critical section is a single map operation, so a poisoned map is still whole.
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, token: u64) -> Attempt {
        Attempt {
            id: id.to_owned(),
            token,
        }
    }

    #[test]
    fn cancel_reaches_only_the_named_running_jobs() {
        let inflight = InFlight::default();
        let (a, b) = (CancellationToken::new(), CancellationToken::new());
        inflight.insert(run("a", 1), a.clone());
        inflight.insert(run("b", 2), b.clone());
        inflight.cancel(&[run("a", 1), run("gone", 3)]);
        assert!(a.is_cancelled());
        assert!(!b.is_cancelled());
    }

    #[test]
    fn two_runs_of_one_id_are_stopped_and_forgotten_apart() {
        let inflight = InFlight::default();
        let (old, new) = (CancellationToken::new(), CancellationToken::new());
        inflight.insert(run("dup", 1), old.clone());
        inflight.insert(run("dup", 2), new.clone());
        inflight.cancel(&[run("dup", 1)]);
        assert!(old.is_cancelled());
        assert!(!new.is_cancelled());
        inflight.remove(&run("dup", 1));
        assert_eq!(inflight.attempts(), vec![run("dup", 2)]);
    }
}
