//! The promoter: queues `scheduled` jobs (delayed, or backing off before a retry) when they
//! come due. It sleeps until the earliest due time the store names, and is woken sooner when
//! a job scheduled by any process sharing the store becomes the earliest. Every supervisor
//! runs one; the store queues each job in one atomic step, so they never queue a job twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hero_store::Store;
use tokio::task::JoinHandle;

/// The longest the promoter sleeps without looking: bounds how late a job can be queued when
/// the news of an earlier one was lost, or when this host's clock is behind the store's.
pub(crate) const MAX_SLEEP: Duration = Duration::from_secs(2);

/// How long the promoter sleeps when no job is scheduled: a newly scheduled one wakes it, so
/// this only bounds the wait when that news was lost without the store noticing.
const IDLE_SLEEP: Duration = Duration::from_secs(30);

/// The promoter task, aborted when dropped.
pub(crate) struct Promoter(JoinHandle<()>);

impl Promoter {
    pub(crate) fn start(store: Arc<dyn Store>) -> Self {
        Self(tokio::spawn(async move {
            let mut woken = match store.watch_scheduled().await {
                Ok(woken) => Some(woken),
                Err(error) => {
                    tracing::warn!(%error, "no wake-ups for scheduled jobs; looking at least every 30 s");
                    None
                }
            };
            loop {
                let sleep = promote(store.as_ref()).await;
                match woken.as_mut() {
                    Some(woken) => {
                        tokio::select! {
                            () = tokio::time::sleep(sleep) => {}
                            changed = woken.changed() => if changed.is_err() {
                                // The store is gone; the supervisor is shutting down.
                                return;
                            },
                        }
                    }
                    None => tokio::time::sleep(sleep).await,
                }
            }
        }))
    }
}

/// Queues the due jobs, and returns how long to sleep before the next comes due.
async fn promote(store: &dyn Store) -> Duration {
    match store.promote_due().await {
        Ok(promoted) => {
            if promoted.queued > 0 {
                tracing::debug!(queued = promoted.queued, "queued scheduled jobs");
            }
            promoted.next_due.map_or(IDLE_SLEEP, |due| {
                (due - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(MAX_SLEEP)
            })
        }
        // The store is down: the API reports it; look again soon.
        Err(error) => {
            tracing::debug!(%error, "promoting scheduled jobs skipped");
            MAX_SLEEP
        }
    }
}

impl Drop for Promoter {
    fn drop(&mut self) {
        self.0.abort();
    }
}
