//! [`InFlight`]: the jobs this runner is executing, so a stop request can reach them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

/// Cancellation tokens of the running jobs, by job id; cheap to clone.
///
/// A std mutex suffices: every access is a short map operation, never across an `.await`.
#[derive(Debug, Clone, Default)]
pub(crate) struct InFlight {
    jobs: Arc<Mutex<HashMap<String, CancellationToken>>>,
}

impl InFlight {
    /// Registers a job that starts running.
    pub(crate) fn insert(&self, id: &str, token: CancellationToken) {
        self.lock().insert(id.to_owned(), token);
    }

    /// Forgets a job once its outcome is reported.
    pub(crate) fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// The ids of the jobs running now.
    pub(crate) fn ids(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Cancels the jobs among `ids` that run here; other ids are ignored.
    pub(crate) fn cancel(&self, ids: &[String]) {
        let jobs = self.lock();
        for id in ids {
            if let Some(token) = jobs.get(id) {
                if !token.is_cancelled() {
                    tracing::info!(job = %id, "giving the job up: stop requested, or ended elsewhere");
                }
                token.cancel();
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        // Each critical section is a single map operation, so a poisoned map is still whole.
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_reaches_only_the_named_running_jobs() {
        let inflight = InFlight::default();
        let (a, b) = (CancellationToken::new(), CancellationToken::new());
        inflight.insert("a", a.clone());
        inflight.insert("b", b.clone());
        inflight.cancel(&["a".to_owned(), "gone".to_owned()]);
        assert!(a.is_cancelled());
        assert!(!b.is_cancelled());
    }
}
