//! The heartbeat loop: renews this worker's lease and delivers stop requests.
//!
//! One task per runner. Every `config.heartbeat` it calls [`Store::heartbeat`] with the runs
//! (job id and attempt token) it holds and cancels those the store names — stopped, or ended
//! or deleted by someone else — so no job runs on unobserved for longer than one interval.
//! A run is held from its claim until its report is accepted (see `Worker::run_job`): the
//! store takes back, a lease after their claim, the runs a heartbeat does not list.

use std::sync::Arc;
use std::time::Duration;

use hero_store::Store;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::inflight::InFlight;

/// Heartbeats until `stop` is cancelled; store failures are logged and the next beat retries.
pub(crate) async fn run(
    store: Arc<dyn Store>,
    worker: String,
    lease: Duration,
    every: Duration,
    inflight: InFlight,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval(every);
    // After a slow store call, beat once and carry on: a burst of beats renews nothing more.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut failing = false;
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
            }
        }
    }
}
