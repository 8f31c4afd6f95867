//! The text of `GET /metrics`: the store's counters and loads (the same on every supervisor
//! sharing the store), this supervisor's runners, and what [`Metrics`] measured here.

use std::time::Duration;

use hero_supervisor_api::info::BackendStatus;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{MAX_RUNNER_LABELS, RunnerLabel};
use crate::rpc;
use crate::supervisor::Supervisor;

/// The runner label of the counters of runners past [`MAX_RUNNER_LABELS`].
const OTHER_RUNNERS: &str = "_other";

/// Longest wait for each store read of a scrape; a store slower than this leaves its
/// figures out of the answer rather than holding the scraper.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FinishedLabels {
    runner: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerLabels {
    runner: String,
    worker: String,
}

/// The whole answer of `GET /metrics`, as OpenMetrics text (see [`super::Format`]).
pub(crate) async fn render(supervisor: &Supervisor) -> String {
    let mut registry = Registry::default();
    let up = rpc::backend(supervisor).await.status == BackendStatus::Ok;
    let backend_up = Gauge::<i64>::default();
    backend_up.set(i64::from(up));
    registry.register(
        "hero_backend_up",
        "1 when the store answers this supervisor, else 0",
        backend_up,
    );
    let runners = runners(supervisor, &mut registry, up).await;
    if up {
        store_figures(supervisor, &mut registry, runners).await;
    }
    let metrics = &supervisor.metrics;
    registry.register(
        "hero_job_wait_seconds",
        "Time jobs waited from queued to claimed, observed by this supervisor since it started",
        metrics.job_wait.clone(),
    );
    registry.register(
        "hero_job_duration_seconds",
        "Time jobs ran from claimed to ended, observed by this supervisor since it started",
        metrics.job_duration.clone(),
    );
    registry.register(
        "hero_rpc_requests",
        "JSON-RPC calls this supervisor answered, by method and code (0 on success)",
        metrics.rpc_requests.clone(),
    );
    registry.register(
        "hero_rpc_duration_seconds",
        "Time this supervisor took to answer JSON-RPC calls, by method",
        metrics.rpc_duration.clone(),
    );
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    text
}

/// `hero_runner_up` and `hero_runner_restarts_total` for the runners this supervisor knows
/// (registered runners only while the store answers); returns every queue name it knows.
async fn runners(supervisor: &Supervisor, registry: &mut Registry, store_up: bool) -> Vec<String> {
    let up = Family::<RunnerLabel, Gauge>::default();
    let restarts = Family::<RunnerLabel, Counter>::default();
    let mut queues = Vec::new();
    for actor in supervisor.registry.actors() {
        let status = actor.process.status();
        let label = RunnerLabel {
            runner: actor.config.name.clone(),
        };
        up.get_or_create(&label).set(i64::from(
            status.state == hero_process::ProcessState::Running,
        ));
        restarts
            .get_or_create(&label)
            .inc_by(u64::from(status.restarts));
        queues.push(actor.config.name.clone());
    }
    let remote = if store_up {
        within(supervisor.store.runners()).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    // A runner registered on an actor's queue: the actor's process says whether it is up.
    let remote: Vec<_> = remote
        .into_iter()
        .filter(|runner| !queues.contains(&runner.queue))
        .take(MAX_RUNNER_LABELS)
        .collect();
    // Read at once, so a slow store costs a scrape one timeout, not one per runner.
    let seen = futures::future::join_all(
        remote
            .iter()
            .map(|runner| within(supervisor.store.last_seen(&runner.queue))),
    )
    .await;
    for (runner, seen) in remote.into_iter().zip(seen) {
        let label = RunnerLabel {
            runner: runner.queue.clone(),
        };
        up.get_or_create(&label)
            .set(i64::from(rpc::seen_recently(seen.flatten())));
        queues.push(runner.queue);
    }
    registry.register(
        "hero_runner_up",
        "1 when a runner is up: a local actor's process runs, a remote runner claimed within 5 s",
        up,
    );
    registry.register(
        "hero_runner_restarts",
        "Automatic restarts of a local actor's process since this supervisor started it",
        restarts,
    );
    queues
}

/// The figures the store keeps for every supervisor: job counters, runner loads, worker
/// stats. A read that fails or is late leaves its figures out.
///
/// The store's counters name every runner that ever had a job, and are never pruned: past
/// [`MAX_RUNNER_LABELS`] runners (the known ones first, then by name), the rest are summed
/// under the runner [`OTHER_RUNNERS`], so a scrape stays bounded whatever names were used.
async fn store_figures(supervisor: &Supervisor, registry: &mut Registry, mut queues: Vec<String>) {
    let store = supervisor.store.as_ref();
    if let Some(stats) = within(store.job_stats()).await {
        let mut named: Vec<&String> = stats
            .submitted
            .keys()
            .chain(stats.finished.keys().map(|(runner, _)| runner))
            .collect();
        named.sort_unstable();
        named.dedup();
        let mut kept: std::collections::HashSet<String> = queues.iter().cloned().collect();
        for runner in named {
            if kept.len() >= MAX_RUNNER_LABELS {
                break;
            }
            if kept.insert(runner.clone()) {
                queues.push(runner.clone());
            }
        }
        let label = |runner: &String| {
            if kept.contains(runner) {
                runner.clone()
            } else {
                OTHER_RUNNERS.to_owned()
            }
        };
        let submitted = Family::<RunnerLabel, Counter>::default();
        for (runner, n) in &stats.submitted {
            submitted
                .get_or_create(&RunnerLabel {
                    runner: label(runner),
                })
                .inc_by(*n);
        }
        let finished = Family::<FinishedLabels, Counter>::default();
        for ((runner, status), n) in &stats.finished {
            finished
                .get_or_create(&FinishedLabels {
                    runner: label(runner),
                    status: status.as_str(),
                })
                .inc_by(*n);
        }
        registry.register(
            "hero_jobs_submitted",
            "Jobs submitted, by runner, across every supervisor sharing the store",
            submitted,
        );
        registry.register(
            "hero_jobs_finished",
            "Jobs that reached a final status, by runner and status, across the store",
            finished,
        );
    }
    queues.sort_unstable();
    queues.dedup();
    if let Some(loads) = within(store.runner_loads(&queues)).await {
        let queued = Family::<RunnerLabel, Gauge>::default();
        let running = Family::<RunnerLabel, Gauge>::default();
        for (runner, load) in queues.iter().zip(loads) {
            let label = RunnerLabel {
                runner: runner.clone(),
            };
            queued.get_or_create(&label).set(gauge(load.queued));
            if let Some(n) = load.running {
                running.get_or_create(&label).set(gauge(n));
            }
        }
        registry.register(
            "hero_queue_length",
            "Jobs waiting on a runner's queue, of every priority",
            queued,
        );
        registry.register("hero_jobs_running", "Jobs running, by runner", running);
    }
    if let Some(workers) = within(store.worker_stats()).await {
        workers_figures(registry, workers);
    }
}

/// What each live runner worker reported of itself, wherever it runs.
fn workers_figures(registry: &mut Registry, workers: Vec<hero_store::WorkerStats>) {
    let jobs = Family::<WorkerLabels, Counter>::default();
    let failures = Family::<WorkerLabels, Counter>::default();
    let busy = Family::<WorkerLabels, Gauge>::default();
    let slots = Family::<WorkerLabels, Gauge>::default();
    for worker in workers {
        let labels = WorkerLabels {
            runner: worker.runner,
            worker: worker.worker,
        };
        jobs.get_or_create(&labels).inc_by(worker.jobs);
        failures.get_or_create(&labels).inc_by(worker.failures);
        busy.get_or_create(&labels).set(gauge(worker.busy));
        slots.get_or_create(&labels).set(gauge(worker.slots));
    }
    registry.register(
        "hero_worker_jobs",
        "Jobs a runner worker ran since it started, as it reports",
        jobs,
    );
    registry.register(
        "hero_worker_failures",
        "Jobs a runner worker reported failed since it started",
        failures,
    );
    registry.register(
        "hero_worker_busy_slots",
        "Jobs a runner worker runs now",
        busy,
    );
    registry.register(
        "hero_worker_slots",
        "Jobs a runner worker may run at once",
        slots,
    );
}

fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The store's answer within [`STORE_TIMEOUT`]; `None` when it failed or was late.
async fn within<T>(read: impl Future<Output = hero_store::Result<T>>) -> Option<T> {
    match tokio::time::timeout(STORE_TIMEOUT, read).await {
        Ok(Ok(value)) => Some(value),
        Ok(Err(error)) => {
            tracing::debug!(%error, "a metrics figure is left out");
            None
        }
        Err(_) => None,
    }
}
