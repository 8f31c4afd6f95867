//! The sampler behind `metrics.history`: every `[metrics] history_interval_secs` it reads the
//! store's job counters and counts by status, takes the interval's waits and run times from
//! [`Metrics`], and keeps one [`MetricsSample`].

use std::sync::Arc;
use std::time::Duration;

use hero_job::JobStatus;
use hero_store::{JobStats, Store};
use hero_supervisor_api::metrics::MetricsSample;

use super::{Interval, Metrics};

/// Samples every `metrics.interval_secs`, from now on, for ever.
pub(super) async fn run(store: Arc<dyn Store>, metrics: Arc<Metrics>) {
    let every = Duration::from_secs(metrics.interval_secs);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // What the store had counted before this supervisor started: the first sample counts
    // what happened in its own interval only.
    let mut last = totals(store.as_ref()).await;
    loop {
        ticks.tick().await;
        let interval = metrics.take_interval();
        match sample(store.as_ref(), last, &interval).await {
            Ok((sample, now)) => {
                metrics.push_sample(sample);
                last = Some(now);
            }
            // The store is down: no sample for this interval; the next one's counts cover
            // both, its latencies only its own.
            Err(error) => tracing::debug!(%error, "history sample skipped"),
        }
    }
}

/// Jobs submitted and ended in each final status, over every runner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Totals {
    submitted: u64,
    completed: u64,
    failed: u64,
    stopped: u64,
}

impl Totals {
    fn of(stats: &JobStats) -> Self {
        let mut totals = Self {
            submitted: stats.submitted.values().sum(),
            ..Self::default()
        };
        for ((_, status), n) in &stats.finished {
            match status {
                JobStatus::Completed => totals.completed += n,
                JobStatus::Failed => totals.failed += n,
                JobStatus::Stopped => totals.stopped += n,
                _ => {}
            }
        }
        totals
    }
}

async fn totals(store: &dyn Store) -> Option<Totals> {
    match store.job_stats().await {
        Ok(stats) => Some(Totals::of(&stats)),
        Err(error) => {
            tracing::debug!(%error, "cannot read the job counters");
            None
        }
    }
}

/// The sample of the interval ending now, and the totals it was counted against.
async fn sample(
    store: &dyn Store,
    last: Option<Totals>,
    interval: &Interval,
) -> hero_store::Result<(MetricsSample, Totals)> {
    let now = Totals::of(&store.job_stats().await?);
    let counts = store.job_counts().await?;
    // No earlier reading (the store was down at start): nothing is known to have happened.
    let last = last.unwrap_or(now);
    let count = |status| counts.get(&status).copied().unwrap_or(0);
    let sample = MetricsSample {
        at_ms: chrono::Utc::now().timestamp_millis(),
        // A store whose counters were reset counts from 0 again, never below.
        submitted: now.submitted.saturating_sub(last.submitted),
        completed: now.completed.saturating_sub(last.completed),
        failed: now.failed.saturating_sub(last.failed),
        stopped: now.stopped.saturating_sub(last.stopped),
        wait_p50_ms: quantile(&interval.wait, 0.5),
        wait_p95_ms: quantile(&interval.wait, 0.95),
        duration_p50_ms: quantile(&interval.duration, 0.5),
        duration_p95_ms: quantile(&interval.duration, 0.95),
        queued: count(JobStatus::Queued),
        running: count(JobStatus::Running),
    };
    Ok((sample, now))
}

/// The `q` quantile in ms; `None` when nothing was observed.
fn quantile(histogram: &hdrhistogram::Histogram<u64>, q: f64) -> Option<f64> {
    if histogram.is_empty() {
        return None;
    }
    Some(histogram.value_at_quantile(q) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_every_runner_by_final_status() {
        let mut stats = JobStats::default();
        stats.submitted.insert("a".into(), 3);
        stats.submitted.insert("b".into(), 4);
        stats.finished.insert(("a".into(), JobStatus::Completed), 2);
        stats.finished.insert(("b".into(), JobStatus::Completed), 1);
        stats.finished.insert(("b".into(), JobStatus::Failed), 1);
        assert_eq!(
            Totals::of(&stats),
            Totals {
                submitted: 7,
                completed: 3,
                failed: 1,
                stopped: 0
            }
        );
    }

    #[test]
    fn quantiles_are_none_without_observations() {
        let mut histogram = hdrhistogram::Histogram::<u64>::new(3).unwrap();
        assert_eq!(quantile(&histogram, 0.5), None);
        for ms in 1..=100 {
            histogram.record(ms).unwrap();
        }
        let p95 = quantile(&histogram, 0.95).unwrap();
        assert!((94.0..=96.0).contains(&p95), "{p95}");
    }
}
