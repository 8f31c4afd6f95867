//! The reaper: ends the jobs of runners that stopped renewing their lease, so a job whose
//! runner died is requeued (when it allows retries) or ends `failed` instead of staying
//! `running` forever; fails jobs running long past their timeout; and removes finished jobs
//! past their `[retention]`. Every supervisor runs one; the store makes concurrent reaping safe.

use std::sync::Arc;
use std::time::Duration;

use hero_store::Store;
use tokio::task::JoinHandle;

/// Time between reaps: with the SDK's 15 s lease, a dead runner's job ends within ~17 s, and
/// a finished job is removed at most this long after its retention (more under a backlog of
/// many due at once, which each pass removes in bounded batches).
const EVERY: Duration = Duration::from_secs(2);

/// The reaper task, aborted when dropped.
pub(crate) struct Reaper(JoinHandle<()>);

impl Reaper {
    pub(crate) fn start(store: Arc<dyn Store>) -> Self {
        Self(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match store.reap_expired().await {
                    Ok(reaped) if reaped.ended_any() => tracing::warn!(
                        failed = reaped.failed,
                        requeued = reaped.requeued,
                        timed_out = reaped.timed_out,
                        expired = reaped.expired,
                        "reaped jobs of lost runners or past their timeout"
                    ),
                    Ok(reaped) if reaped.expired > 0 => {
                        tracing::debug!(expired = reaped.expired, "removed expired jobs");
                    }
                    Ok(_) => {}
                    // The store is down: the API reports it; the next tick tries again.
                    Err(error) => tracing::debug!(%error, "reaping skipped"),
                }
            }
        }))
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        self.0.abort();
    }
}
