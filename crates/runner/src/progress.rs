//! A running job's progress: [`ProgressSlot`], where [`JobContext::progress`] leaves the
//! latest value, and [`Pusher`], which writes it to the store beside the execution, in the
//! job's own task (no task of its own: a job that reports nothing costs one future polled
//! once).
//!
//! Reporting never blocks the job: it replaces the value in the slot and wakes the pusher.
//! The pusher writes at most one value per [`PUSH_INTERVAL`], the latest, so a job that
//! reports in a tight loop costs the store a few writes a second; a job that reports nothing
//! costs nothing. When the job ends, a value not yet written is written before the job's
//! report, after which the store refuses it.
//!
//! [`JobContext::progress`]: crate::JobContext::progress

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hero_job::Progress;
use hero_store::{Attempt, Store};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Least time between two progress writes of one job.
pub(crate) const PUSH_INTERVAL: Duration = Duration::from_millis(250);

/// The latest progress of one job, and whether the store has it yet; cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProgressSlot {
    inner: Arc<SlotInner>,
}

#[derive(Debug, Default)]
struct SlotInner {
    state: Mutex<SlotState>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct SlotState {
    latest: Option<Progress>,
    unsent: bool,
}

impl ProgressSlot {
    /// Replaces the latest progress; the pusher writes it at its next turn.
    pub(crate) fn set(&self, progress: Progress) {
        let mut state = self.lock();
        state.latest = Some(progress);
        state.unsent = true;
        drop(state);
        // Stores a permit when the pusher is busy, so the value is not missed.
        self.inner.changed.notify_one();
    }

    /// The latest progress reported, sent or not.
    pub(crate) fn latest(&self) -> Option<Progress> {
        self.lock().latest.clone()
    }

    /// The latest progress if the store does not have it yet, marking it sent.
    fn take_unsent(&self) -> Option<Progress> {
        let mut state = self.lock();
        if !state.unsent {
            return None;
        }
        state.unsent = false;
        state.latest.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        // Each critical section is a plain assignment, so a poisoned slot is still whole.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Writes one run's progress to the store while the run executes.
pub(crate) struct Pusher {
    slot: ProgressSlot,
    sender: Sender,
}

#[derive(Clone)]
struct Sender {
    store: Arc<dyn Store>,
    worker: String,
    attempt: Attempt,
}

impl Sender {
    /// Progress is advisory: a write the store fails or refuses is dropped, and the next
    /// report replaces it anyway.
    async fn send(&self, progress: &Progress) {
        match self
            .store
            .progress(&self.worker, &self.attempt, progress)
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::debug!("progress refused: this run no longer holds the job"),
            Err(error) => tracing::debug!(%error, "progress not recorded"),
        }
    }
}

impl Pusher {
    /// Writes `slot`'s values for the run `attempt` held by `worker`.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        worker: String,
        attempt: Attempt,
        slot: ProgressSlot,
    ) -> Self {
        let sender = Sender {
            store,
            worker,
            attempt,
        };
        Self { slot, sender }
    }

    /// Runs `execution`, writing the progress it reports meanwhile, then the value not yet
    /// written, if any: the run's report comes after this, and the store refuses progress
    /// once the run has ended.
    pub(crate) async fn beside<T>(&self, execution: impl Future<Output = T>) -> T {
        let done = CancellationToken::new();
        let execution = async {
            let output = execution.await;
            // The pusher stops after the write under way, so the flush below never races it.
            done.cancel();
            output
        };
        let (output, ()) = tokio::join!(execution, push(&self.sender, &self.slot, &done));
        if let Some(progress) = self.slot.take_unsent() {
            self.sender.send(&progress).await;
        }
        output
    }
}

async fn push(sender: &Sender, slot: &ProgressSlot, done: &CancellationToken) {
    loop {
        tokio::select! {
            () = done.cancelled() => return,
            () = slot.inner.changed.notified() => {}
        }
        if let Some(progress) = slot.take_unsent() {
            sender.send(&progress).await;
        }
        tokio::select! {
            () = done.cancelled() => return,
            () = tokio::time::sleep(PUSH_INTERVAL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rapid_reports_coalesce_into_the_latest() {
        let slot = ProgressSlot::default();
        for percent in 0..=100 {
            slot.set(Progress::new(percent, format!("step {percent}")));
        }
        assert_eq!(slot.take_unsent(), Some(Progress::new(100, "step 100")));
        assert_eq!(slot.take_unsent(), None, "sent once");
        assert_eq!(slot.latest(), Some(Progress::new(100, "step 100")));
    }
}
