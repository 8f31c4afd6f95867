//! The job events hub behind `jobs.subscribe`: while any subscription is open, one task reads
//! the store's job changes, matches each against every subscription, reads each final
//! result once when some subscription wants it, and hands every subscription its events
//! through a bounded queue. A subscription that lets its queue fill is ended, never grown.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use hero_job::{EventStatus, JobEvent};
use hero_store::{JobChange, Store, Watched};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Changes taken from the store at once, so their results are read in one round trip.
const BATCH: usize = 512;

/// Which changes one subscription receives.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    /// The owner a job must have: the subscriber's secret's hash; `None` for an admin.
    pub(crate) owner: Option<String>,
    pub(crate) job_ids: Option<HashSet<String>>,
    pub(crate) runner: Option<String>,
    /// Empty for any.
    pub(crate) statuses: Vec<EventStatus>,
}

impl Filter {
    fn matches(&self, change: &JobChange) -> bool {
        self.owner
            .as_ref()
            .is_none_or(|owner| change.owner.as_ref() == Some(owner))
            && self
                .job_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&change.id))
            && self.runner.as_ref().is_none_or(|r| *r == change.runner)
            && (self.statuses.is_empty() || self.statuses.contains(&change.status))
    }
}

/// Why the hub ended a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Its queue was full: the client reads too slowly.
    TooSlow,
    /// Changes may have been lost before they reached the hub.
    Missed,
}

struct Entry {
    filter: Filter,
    events: mpsc::Sender<Arc<JobEvent>>,
    end: oneshot::Sender<Ended>,
}

#[derive(Default)]
struct State {
    entries: HashMap<u64, Entry>,
    next_id: u64,
    /// True while a task reads the store's changes.
    running: bool,
}

impl State {
    fn add(&mut self, entry: Entry) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.entries.insert(id, entry);
        id
    }
}

/// The subscriptions of this supervisor and the task feeding them.
#[derive(Default)]
pub(crate) struct Hub {
    state: Mutex<State>,
    /// Held while the first subscription starts the task, so a second one never returns
    /// before the changes are being received.
    starting: tokio::sync::Mutex<()>,
}

/// One open subscription; dropping it takes it out of the hub.
pub(crate) struct Subscription {
    id: u64,
    hub: Arc<Hub>,
    /// Its events, in the order the store announced them.
    pub(crate) events: mpsc::Receiver<Arc<JobEvent>>,
    /// Fires when the hub ends it; closed when the supervisor shuts down.
    pub(crate) ended: oneshot::Receiver<Ended>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.lock().entries.remove(&self.id);
    }
}

impl Hub {
    /// Opens a subscription receiving the changes `filter` selects from now on, ended when
    /// more than `capacity` of its events wait to be sent.
    ///
    /// # Errors
    ///
    /// The store's, when it cannot start sending its changes.
    pub(crate) async fn subscribe(
        self: &Arc<Self>,
        store: &Arc<dyn Store>,
        filter: Filter,
        capacity: usize,
        shutdown: &CancellationToken,
    ) -> Result<Subscription, hero_store::Error> {
        let _starting = self.starting.lock().await;
        let (events, receiver) = mpsc::channel(capacity.max(1));
        let (end, ended) = oneshot::channel();
        let entry = Entry {
            filter,
            events,
            end,
        };
        // Checked and joined in one step: the task stops only when it finds no entry.
        let joined = {
            let mut state = self.lock();
            if state.running {
                Ok(state.add(entry))
            } else {
                Err(entry)
            }
        };
        let id = match joined {
            Ok(id) => id,
            Err(entry) => {
                let changes = store.watch_jobs().await?;
                // Only a holder of `starting` sets `running`, so the task is still stopped.
                let mut state = self.lock();
                state.running = true;
                tokio::spawn(self.clone().run(store.clone(), changes, shutdown.clone()));
                state.add(entry)
            }
        };
        Ok(Subscription {
            id,
            hub: self.clone(),
            events: receiver,
            ended,
        })
    }

    /// Feeds the subscriptions until none is left or the supervisor shuts down.
    async fn run(
        self: Arc<Self>,
        store: Arc<dyn Store>,
        mut changes: broadcast::Receiver<Watched>,
        shutdown: CancellationToken,
    ) {
        loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => {
                    // Dropping their entries tells every subscription the supervisor is going.
                    let mut state = self.lock();
                    state.entries.clear();
                    state.running = false;
                    return;
                }
                first = changes.recv() => first,
            };
            let mut batch = Vec::new();
            let mut missed = false;
            let mut closed = false;
            let mut next = Some(first);
            while let Some(received) = next.take() {
                match received {
                    Ok(Watched::Changed(change)) => batch.push(change),
                    Ok(Watched::Missed) | Err(RecvError::Lagged(_)) => missed = true,
                    Err(RecvError::Closed) => closed = true,
                }
                if batch.len() < BATCH && !closed {
                    next = match changes.try_recv() {
                        Ok(watched) => Some(Ok(watched)),
                        Err(TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
                        Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
                        Err(TryRecvError::Empty) => None,
                    };
                }
            }
            if closed {
                // The store is going away: nothing will come again.
                self.end_all(Ended::Missed, true);
                return;
            }
            if missed {
                // Whatever came with the gap is of no use: every subscriber starts over.
                self.end_all(Ended::Missed, false);
            } else {
                self.deliver(store.as_ref(), batch).await;
            }
            if self.stop_if_idle() {
                return;
            }
        }
    }

    /// Sends each change to the subscriptions it matches, with the result of final ones.
    async fn deliver(&self, store: &dyn Store, batch: Vec<Arc<JobChange>>) {
        let matched: Vec<(Arc<JobChange>, Vec<u64>)> = {
            let state = self.lock();
            batch
                .into_iter()
                .filter_map(|change| {
                    let ids: Vec<u64> = state
                        .entries
                        .iter()
                        .filter(|(_, entry)| entry.filter.matches(&change))
                        .map(|(id, _)| *id)
                        .collect();
                    (!ids.is_empty()).then_some((change, ids))
                })
                .collect()
        };
        let finals: Vec<String> = matched
            .iter()
            .filter(|(change, _)| change.status.is_final())
            .map(|(change, _)| change.id.clone())
            .collect();
        let mut results = match store.results(&finals).await {
            Ok(results) => finals.into_iter().zip(results).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the results of finished jobs for their events");
                HashMap::new()
            }
        };
        let mut state = self.lock();
        for (change, ids) in matched {
            let result = if change.status.is_final() {
                results.remove(&change.id).flatten()
            } else {
                None
            };
            let event = Arc::new(JobEvent {
                job_id: change.id.clone(),
                runner: change.runner.clone(),
                status: change.status,
                at: change.at,
                progress: change.progress.clone(),
                result,
            });
            for id in ids {
                let Some(entry) = state.entries.get(&id) else {
                    continue;
                };
                match entry.events.try_send(event.clone()) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        if let Some(entry) = state.entries.remove(&id) {
                            // A subscription already gone needs no reason.
                            let _ = entry.end.send(Ended::TooSlow);
                        }
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        state.entries.remove(&id);
                    }
                }
            }
        }
    }

    /// Ends every subscription with `why`; with `stop`, marks the task stopped in the same
    /// step, so no subscription joins it after.
    fn end_all(&self, why: Ended, stop: bool) {
        let entries = {
            let mut state = self.lock();
            if stop {
                state.running = false;
            }
            std::mem::take(&mut state.entries)
        };
        for entry in entries.into_values() {
            // As in `deliver`: a subscription already gone needs no reason.
            let _ = entry.end.send(why);
        }
    }

    /// Marks the task stopped when no subscription is left, in the same step as the check,
    /// so a new subscription either sees it running and is fed, or starts another.
    fn stop_if_idle(&self) -> bool {
        let mut state = self.lock();
        if state.entries.is_empty() {
            state.running = false;
        }
        !state.running
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every change to the state is one map or field operation: it stays consistent even
        // if a holder panicked.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(id: &str, runner: &str, owner: Option<&str>, status: EventStatus) -> JobChange {
        JobChange {
            id: id.into(),
            runner: runner.into(),
            owner: owner.map(str::to_owned),
            status,
            progress: None,
            at: chrono::Utc::now(),
            elapsed_ms: None,
        }
    }

    #[test]
    fn a_user_filter_sees_only_its_own_jobs() {
        let filter = Filter {
            owner: Some("me".into()),
            ..Filter::default()
        };
        assert!(filter.matches(&change("a", "r", Some("me"), EventStatus::Queued)));
        assert!(!filter.matches(&change("a", "r", Some("other"), EventStatus::Queued)));
        assert!(!filter.matches(&change("a", "r", None, EventStatus::Queued)));
        assert!(Filter::default().matches(&change("a", "r", None, EventStatus::Queued)));
    }

    #[test]
    fn every_condition_given_must_hold() {
        let filter = Filter {
            owner: None,
            job_ids: Some(["a".to_owned()].into()),
            runner: Some("r".into()),
            statuses: vec![EventStatus::Completed, EventStatus::Deleted],
        };
        assert!(filter.matches(&change("a", "r", None, EventStatus::Deleted)));
        assert!(!filter.matches(&change("b", "r", None, EventStatus::Deleted)));
        assert!(!filter.matches(&change("a", "s", None, EventStatus::Deleted)));
        assert!(!filter.matches(&change("a", "r", None, EventStatus::Running)));
    }
}
