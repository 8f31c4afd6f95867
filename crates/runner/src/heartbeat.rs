//! The heartbeat loop: renews this worker's lease, delivers stop requests, and writes the
//! worker's stats.
//!
//! One task per runner. Every `config.heartbeat` it calls [`Store::heartbeat`] with the runs
//! (job id and attempt token) it holds and cancels those the store names — stopped, or ended
//! or deleted by someone else — so no job runs on unobserved for longer than one interval.
//! A run is held from its claim until its report is accepted (see `Worker::run_job`): the
//! store takes back, a lease after their claim, the runs a heartbeat does not list.
//! After a beat, the worker's [`WorkerStats`] go to the store when they changed or are
//! [`STATS_REFRESH`] old, kept for [`stats_ttl`]: a dead worker's stats disappear on their own.

use std::sync::Arc;
use std::time::Duration;

use hero_store::{Store, WorkerStats};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::counters::Counters;
use crate::inflight::InFlight;

/// How often unchanged stats are written again, to outlive their time to live.
const STATS_REFRESH: Duration = Duration::from_secs(5);

/// How long written stats are kept: three refreshes or three beats, whichever is longer, so
/// one slow beat never makes a live worker's stats disappear.
fn stats_ttl(every: Duration) -> Duration {
    STATS_REFRESH.max(every) * 3
}

/// What the heartbeat reports of the worker beside its lease.
pub(crate) struct Reporting {
    /// The runner (queue) the worker takes jobs from.
    pub(crate) runner: String,
    /// Jobs it may run at once.
    pub(crate) slots: usize,
    pub(crate) counters: Arc<Counters>,
}

/// Heartbeats until `stop` is cancelled; store failures are logged and the next beat retries.
pub(crate) async fn run(
    store: Arc<dyn Store>,
    worker: String,
    lease: Duration,
    every: Duration,
    inflight: InFlight,
    reporting: Reporting,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval(every);
    // After a slow store call, beat once and carry on: a burst of beats renews nothing more.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut failing = false;
    let mut written: Option<(WorkerStats, Instant)> = None;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let running = inflight.attempts();
        let beat = tokio::select! {
            () = stop.cancelled() => return,
            beat = store.heartbeat(&worker, lease, &running) => beat,
        };
        match beat {
            Ok(stops) => {
                if failing {
                    tracing::info!(%worker, "heartbeat works again");
                    failing = false;
                }
                inflight.cancel(&stops);
            }
            Err(error) => {
                // Logged once per outage, not once per beat.
                if !failing {
                    tracing::warn!(%worker, %error, "heartbeat failed; retrying");
                    failing = true;
                }
                continue;
            }
        }
        let stats = reporting.stats(&worker, running.len());
        let due = written
            .as_ref()
            .is_none_or(|(last, at)| *last != stats || at.elapsed() >= STATS_REFRESH);
        if !due {
            continue;
        }
        let put = tokio::select! {
            () = stop.cancelled() => return,
            put = store.put_worker_stats(&stats, stats_ttl(every)) => put,
        };
        match put {
            Ok(()) => written = Some((stats, Instant::now())),
            // Figures to show, not state: the next beat writes them again, and a heartbeat
            // failing for the same reason has already said so.
            Err(error) => tracing::debug!(%worker, %error, "cannot write worker stats"),
        }
    }
}

impl Reporting {
    fn stats(&self, worker: &str, busy: usize) -> WorkerStats {
        let (jobs, failures) = self.counters.read();
        WorkerStats {
            worker: worker.to_owned(),
            runner: self.runner.clone(),
            jobs,
            failures,
            busy: busy as u64,
            slots: self.slots as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_outlive_a_few_missed_beats() {
        assert_eq!(
            stats_ttl(Duration::from_millis(500)),
            Duration::from_secs(15)
        );
        assert_eq!(stats_ttl(Duration::from_secs(10)), Duration::from_secs(30));
    }
}
