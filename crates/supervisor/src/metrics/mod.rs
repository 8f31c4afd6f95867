//! What `GET /metrics` and `metrics.history` show (see `docs/observability.md`).
//!
//! - this file: [`Metrics`], what this supervisor measures itself: RPC calls, and the wait and
//!   run time of every job, taken from the store's job changes (which every supervisor
//!   receives, so no job pays a write for them);
//! - `scrape`: the text of `GET /metrics`, those plus what the store counts for everyone;
//! - `format`: that text as OpenMetrics or as the classic Prometheus format;
//! - `history`: the sampler behind `metrics.history`.

mod format;
mod history;
mod scrape;

pub(crate) use format::Format;
pub(crate) use scrape::render;

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hero_job::EventStatus;
use hero_store::{JobChange, Store, Watched};
use hero_supervisor_api::metrics::MetricsSample;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

/// Most runners the job histograms keep apart; the changes of any further runner are not
/// observed, so a store full of runner names cannot grow this process without bound.
const MAX_RUNNER_LABELS: usize = 1_000;

/// Bucket bounds (s) of the job wait and run time histograms: 5 ms to an hour.
const JOB_BUCKETS: [f64; 18] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    1800.0, 3600.0,
];

/// Bucket bounds (s) of the RPC duration histogram: 0.5 ms to a minute (waiting calls such as
/// `job.run` last as long as their job).
const RPC_BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// Most samples `metrics.history` keeps: an hour at the default interval.
pub(crate) const HISTORY_LEN: usize = 360;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RunnerLabel {
    pub(crate) runner: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabel {
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: &'static str,
    code: i32,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// What this supervisor measures itself, shared by the RPC handler, the change watcher and
/// the scrape.
pub(crate) struct Metrics {
    /// Calls by method name (from the method table only) and JSON-RPC code (0 on success).
    rpc_requests: Family<CallLabels, Counter>,
    rpc_duration: Histograms<MethodLabel>,
    job_wait: Histograms<RunnerLabel>,
    job_duration: Histograms<RunnerLabel>,
    /// The runners the job histograms have a label for, to keep them under
    /// [`MAX_RUNNER_LABELS`]. A std mutex: only the change watcher takes it, never across an
    /// await.
    runners: Mutex<HashSet<String>>,
    /// The waits and run times of the history interval going on; the sampler takes them.
    interval: Mutex<Interval>,
    /// The `metrics.history` samples, oldest first, at most [`HISTORY_LEN`].
    history: Mutex<VecDeque<MetricsSample>>,
    /// Seconds between two history samples.
    pub(crate) interval_secs: u64,
}

/// The waits and run times (ms) observed in one history interval.
pub(crate) struct Interval {
    pub(crate) wait: hdrhistogram::Histogram<u64>,
    pub(crate) duration: hdrhistogram::Histogram<u64>,
}

impl Interval {
    fn new() -> Self {
        Self {
            wait: ms_histogram(),
            duration: ms_histogram(),
        }
    }
}

fn ms_histogram() -> hdrhistogram::Histogram<u64> {
    // Three significant figures, growing as large values come: within 0.1 % of any value.
    hdrhistogram::Histogram::new(3).expect("3 significant figures are within hdrhistogram's range")
}

fn job_histogram() -> Histogram {
    Histogram::new(JOB_BUCKETS)
}

fn rpc_histogram() -> Histogram {
    Histogram::new(RPC_BUCKETS)
}

impl Metrics {
    pub(crate) fn new(interval_secs: u64) -> Self {
        Self {
            rpc_requests: Family::default(),
            rpc_duration: Family::new_with_constructor(rpc_histogram),
            job_wait: Family::new_with_constructor(job_histogram),
            job_duration: Family::new_with_constructor(job_histogram),
            runners: Mutex::default(),
            interval: Mutex::new(Interval::new()),
            history: Mutex::default(),
            interval_secs,
        }
    }

    /// Counts one call of `method` (a name from the method table) that answered `code` (0 on
    /// success) after `elapsed`.
    pub(crate) fn rpc(&self, method: &'static str, code: i32, elapsed: Duration) {
        self.rpc_requests
            .get_or_create(&CallLabels { method, code })
            .inc();
        self.rpc_duration
            .get_or_create(&MethodLabel { method })
            .observe(elapsed.as_secs_f64());
    }

    /// Observes a job change: a claim's wait, an end's run time.
    pub(crate) fn observe(&self, change: &JobChange) {
        let Some(ms) = change.elapsed_ms else {
            return;
        };
        let wait = match change.status {
            EventStatus::Running if change.progress.is_none() => true,
            status if status.is_final() => false,
            _ => return,
        };
        if !self.admits(&change.runner) {
            return;
        }
        let label = RunnerLabel {
            runner: change.runner.clone(),
        };
        // Milliseconds, as the store counts them, in seconds, as Prometheus wants them.
        let secs = ms as f64 / 1000.0;
        let mut interval = self.interval.lock().unwrap_or_else(PoisonError::into_inner);
        if wait {
            self.job_wait.get_or_create(&label).observe(secs);
            interval.wait.saturating_record(ms);
        } else {
            self.job_duration.get_or_create(&label).observe(secs);
            interval.duration.saturating_record(ms);
        }
    }

    /// True when `runner` has, or may get, a label of its own.
    fn admits(&self, runner: &str) -> bool {
        let mut runners = self.runners.lock().unwrap_or_else(PoisonError::into_inner);
        if runners.contains(runner) {
            return true;
        }
        if runners.len() >= MAX_RUNNER_LABELS {
            return false;
        }
        runners.insert(runner.to_owned());
        true
    }

    /// The interval's observations, leaving an empty one in their place.
    pub(crate) fn take_interval(&self) -> Interval {
        let mut interval = self.interval.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *interval, Interval::new())
    }

    /// Adds a sample to the history, dropping the oldest beyond [`HISTORY_LEN`].
    pub(crate) fn push_sample(&self, sample: MetricsSample) {
        let mut history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        if history.len() == HISTORY_LEN {
            history.pop_front();
        }
        history.push_back(sample);
    }

    /// The history, oldest first.
    pub(crate) fn samples(&self) -> Vec<MetricsSample> {
        let history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        history.iter().cloned().collect()
    }
}

/// The change watcher and the history sampler, aborted when dropped.
pub(crate) struct Tasks(Vec<JoinHandle<()>>);

impl Tasks {
    /// Starts feeding `metrics` the store's job changes, and sampling its history; returns
    /// once changes are received, so every change made afterwards is observed.
    pub(crate) async fn start(store: Arc<dyn Store>, metrics: Arc<Metrics>) -> Self {
        let mut tasks = vec![tokio::spawn(history::run(store.clone(), metrics.clone()))];
        match store.watch_jobs().await {
            Ok(changes) => tasks.push(tokio::spawn(watch(changes, metrics))),
            // The store is down at start: the histograms wait for it, everything else works.
            Err(error) => {
                tracing::warn!(%error, "job wait and run time histograms wait for the store");
                tasks.push(tokio::spawn(watch_when_up(store, metrics)));
            }
        }
        Self(tasks)
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Asks the store for its job changes until it answers, waiting longer after each refusal
/// (up to 30 s), then feeds them to `metrics`.
async fn watch_when_up(store: Arc<dyn Store>, metrics: Arc<Metrics>) {
    let mut pause = Duration::from_secs(1);
    loop {
        tokio::time::sleep(pause).await;
        if let Ok(changes) = store.watch_jobs().await {
            tracing::info!("job wait and run time histograms are on");
            return watch(changes, metrics).await;
        }
        pause = (pause * 2).min(Duration::from_secs(30));
    }
}

/// Feeds `metrics` every job change the store announces, until the store's change stream
/// ends. Changes lost while this task fell behind or the store's connection was down are
/// not observed: the histograms are samples, not an account.
async fn watch(mut changes: broadcast::Receiver<Watched>, metrics: Arc<Metrics>) {
    loop {
        match changes.recv().await {
            Ok(Watched::Changed(change)) => metrics.observe(&change),
            Ok(Watched::Missed) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(runner: &str, status: EventStatus, elapsed_ms: Option<u64>) -> JobChange {
        JobChange {
            id: "j".into(),
            runner: runner.into(),
            owner: None,
            status,
            progress: None,
            at: chrono::Utc::now(),
            elapsed_ms,
        }
    }

    #[test]
    fn claims_feed_the_wait_and_ends_the_run_time() {
        let metrics = Metrics::new(10);
        metrics.observe(&change("r", EventStatus::Running, Some(40)));
        metrics.observe(&change("r", EventStatus::Completed, Some(1500)));
        metrics.observe(&change("r", EventStatus::Queued, Some(7)));
        metrics.observe(&change("r", EventStatus::Failed, None));
        let interval = metrics.take_interval();
        assert_eq!(interval.wait.len(), 1);
        assert_eq!(interval.duration.len(), 1);
        assert_eq!(interval.duration.max(), 1500);
        assert_eq!(metrics.take_interval().wait.len(), 0, "taken once");
    }

    #[test]
    fn runner_labels_stop_growing_at_their_bound() {
        let metrics = Metrics::new(10);
        for i in 0..MAX_RUNNER_LABELS + 5 {
            metrics.observe(&change(&format!("r{i}"), EventStatus::Running, Some(1)));
        }
        assert_eq!(
            metrics.take_interval().wait.len() as usize,
            MAX_RUNNER_LABELS
        );
        metrics.observe(&change("r0", EventStatus::Running, Some(1)));
        assert_eq!(
            metrics.take_interval().wait.len(),
            1,
            "a known runner still counts"
        );
    }

    #[test]
    fn the_history_keeps_the_last_hour() {
        let metrics = Metrics::new(10);
        for at_ms in 0..(HISTORY_LEN as i64 + 3) {
            metrics.push_sample(MetricsSample {
                at_ms,
                submitted: 0,
                completed: 0,
                failed: 0,
                stopped: 0,
                wait_p50_ms: None,
                wait_p95_ms: None,
                duration_p50_ms: None,
                duration_p95_ms: None,
                queued: 0,
                running: 0,
            });
        }
        let samples = metrics.samples();
        assert_eq!(samples.len(), HISTORY_LEN);
        assert_eq!(samples[0].at_ms, 3);
    }
}
