//! In-process notifications: what a transaction changed ([`Effects`]) is told after it
//! commits to blocked claims (per queue), to waiters on a job's end (per job), to job
//! watchers, and to the watchers of secrets and scheduled jobs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use hero_job::{EventStatus, Progress};
use hero_store::{JobChange, WATCH_CAPACITY, Watched};
use tokio::sync::{Notify, broadcast, watch};

/// What one transaction changed that someone may wait for; told only once it committed, so
/// nobody wakes to a change that was rolled back.
#[derive(Default)]
pub(crate) struct Effects {
    changes: Vec<JobChange>,
    queues: Vec<String>,
    ended: Vec<String>,
    scheduled: bool,
    secrets: bool,
}

impl Effects {
    /// Announces that job `id` of `runner` became `status` at `at`.
    pub(crate) fn change(
        &mut self,
        id: &str,
        meta: &crate::tables::Meta,
        status: EventStatus,
        at: DateTime<Utc>,
        elapsed_ms: Option<u64>,
    ) {
        self.changes.push(JobChange {
            id: id.to_owned(),
            runner: meta.runner.clone(),
            owner: meta.owner.clone(),
            status,
            progress: None,
            at,
            elapsed_ms,
        });
    }

    /// Announces a progress report of job `id`.
    pub(crate) fn progress(
        &mut self,
        id: &str,
        meta: &crate::tables::Meta,
        progress: Progress,
        at: DateTime<Utc>,
    ) {
        self.change(id, meta, EventStatus::Running, at, None);
        if let Some(last) = self.changes.last_mut() {
            last.progress = Some(progress);
        }
    }

    /// Wakes the claims blocked on `queue`.
    pub(crate) fn queued(&mut self, queue: &str) {
        self.queues.push(queue.to_owned());
    }

    /// Wakes the waiters on job `id`'s end (it ended or was deleted).
    pub(crate) fn ended(&mut self, id: &str) {
        self.ended.push(id.to_owned());
    }

    /// Tells the promoters a job may have become the earliest scheduled one.
    pub(crate) fn rescheduled(&mut self) {
        self.scheduled = true;
    }

    /// Tells the holders of secret grants to reload them.
    pub(crate) fn secrets_changed(&mut self) {
        self.secrets = true;
    }
}

/// The receivers' side of every notification.
pub(crate) struct Signals {
    /// Claims waiting for a job, by queue.
    pub(crate) queues: Bells,
    /// `wait_final` callers, by job id.
    pub(crate) ends: Bells,
    jobs: broadcast::Sender<Watched>,
    scheduled: watch::Sender<u64>,
    secrets: watch::Sender<u64>,
}

impl Signals {
    pub(crate) fn new() -> Self {
        Self {
            queues: Bells::default(),
            ends: Bells::default(),
            jobs: broadcast::channel(WATCH_CAPACITY).0,
            scheduled: watch::channel(0).0,
            secrets: watch::channel(0).0,
        }
    }

    pub(crate) fn apply(&self, effects: Effects) {
        for change in effects.changes {
            // No receiver is no error: nobody watches.
            let _ = self.jobs.send(Watched::Changed(Arc::new(change)));
        }
        for queue in &effects.queues {
            self.queues.ring(queue);
        }
        for id in &effects.ended {
            self.ends.ring(id);
        }
        if effects.scheduled {
            self.scheduled.send_modify(|n| *n = n.wrapping_add(1));
        }
        if effects.secrets {
            self.secrets.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    pub(crate) fn watch_jobs(&self) -> broadcast::Receiver<Watched> {
        self.jobs.subscribe()
    }

    pub(crate) fn watch_scheduled(&self) -> watch::Receiver<u64> {
        self.scheduled.subscribe()
    }

    pub(crate) fn watch_secrets(&self) -> watch::Receiver<u64> {
        self.secrets.subscribe()
    }
}

/// One [`Notify`] per key somebody waits on, dropped when the last waiter leaves, so the map
/// holds only what is waited on now.
#[derive(Default)]
pub(crate) struct Bells {
    // A std mutex: held for a map lookup, never across an await.
    map: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Bells {
    /// The bell of `key`, for one waiter.
    pub(crate) fn get(&self, key: &str) -> Bell<'_> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let notify = map.entry(key.to_owned()).or_default().clone();
        Bell {
            bells: self,
            key: key.to_owned(),
            notify,
        }
    }

    fn ring(&self, key: &str) {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(notify) = map.get(key) {
            notify.notify_waiters();
        }
    }
}

/// A waiter's hold on a [`Bells`] entry.
pub(crate) struct Bell<'a> {
    bells: &'a Bells,
    key: String,
    pub(crate) notify: Arc<Notify>,
}

impl Drop for Bell<'_> {
    fn drop(&mut self) {
        let mut map = self.bells.map.lock().unwrap_or_else(|e| e.into_inner());
        // Two holders: the map and this bell, so no other waiter is left.
        if Arc::strong_count(&self.notify) == 2 {
            map.remove(&self.key);
        }
    }
}
