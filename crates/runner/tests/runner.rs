//! The runner SDK against a private Redis through the real `RedisStore`, with an in-test
//! executor whose behaviour each job's payload picks.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hero_job::{Job, JobBuilder, JobRecord, JobResult, JobStatus};
use hero_runner::{Error, Executor, JobContext, RunnerConfig};
use hero_store::{Attempt, Claimed, Finish, Reaped, RunnerRecord, StopOutcome, Store};
use hero_store_redis::RedisStore;
use hero_test_support::{RedisServer, TIMEOUT, eventually};
use tokio::sync::{Barrier, mpsc, oneshot};
use tokio::task::JoinHandle;

const QUEUE: &str = "test_runner";

/// Acts on the payload: `echo:TEXT`, `fail:TEXT`, `wait` (until cancelled), `hang` (ignores
/// cancellation), `meet` (waits for a second `meet` job) or `panic`. Every job but `echo`
/// and `fail` announces its id on `started` once it runs.
struct TestExecutor {
    started: mpsc::UnboundedSender<String>,
    meet: Barrier,
}

#[async_trait]
impl Executor for TestExecutor {
    fn name(&self) -> &str {
        "test"
    }

    async fn execute(&self, job: &Job, ctx: &JobContext) -> Result<String, String> {
        if let Some(text) = job.payload.strip_prefix("echo:") {
            return Ok(text.to_owned());
        }
        if let Some(text) = job.payload.strip_prefix("fail:") {
            return Err(text.to_owned());
        }
        self.started
            .send(ctx.job_id().to_owned())
            .expect("the test listens while jobs run");
        match job.payload.as_str() {
            "wait" => {
                ctx.cancelled().await;
                Err("cancelled".to_owned())
            }
            "hang" => std::future::pending().await,
            "meet" => {
                self.meet.wait().await;
                Ok("met".to_owned())
            }
            "panic" => panic!("executor bug"),
            other => Err(format!("unknown test payload {other}")),
        }
    }
}

/// A runner on its own Redis, and what a test needs to drive it.
struct Harness {
    redis: RedisServer,
    store: Arc<dyn Store>,
    started: mpsc::UnboundedReceiver<String>,
    shutdown: Option<oneshot::Sender<()>>,
    runner: JoinHandle<Result<(), Error>>,
}

impl Harness {
    async fn start(tune: impl FnOnce(&mut RunnerConfig)) -> Self {
        Self::start_with(tune, |store| store).await
    }

    /// As [`start`](Self::start), with the runner's store passed through `wrap` first.
    async fn start_with(
        tune: impl FnOnce(&mut RunnerConfig),
        wrap: impl FnOnce(Arc<dyn Store>) -> Arc<dyn Store>,
    ) -> Self {
        let redis = RedisServer::start();
        let store: Arc<dyn Store> = Arc::new(connect(&redis).await);
        // The runner gets a store of its own, so that it is gone once `run` returns.
        let runner_store = wrap(Arc::new(connect(&redis).await));
        let (started_tx, started) = mpsc::unbounded_channel();
        let executor = Arc::new(TestExecutor {
            started: started_tx,
            meet: Barrier::new(2),
        });
        let mut config = RunnerConfig::new(QUEUE);
        tune(&mut config);
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let shutdown = async move {
            // A dropped sender also means shut down.
            let _ = shutdown_rx.await;
        };
        let runner = tokio::spawn(hero_runner::run(runner_store, config, executor, shutdown));
        Self {
            redis,
            store,
            started,
            shutdown: Some(shutdown_tx),
            runner,
        }
    }

    async fn submit(&self, id: &str, payload: &str, timeout: u64) {
        let job = JobBuilder::new()
            .id(id)
            .payload(payload)
            .executor("test")
            .runner(QUEUE)
            .timeout(timeout)
            .build()
            .expect("a valid job");
        bounded(self.store.submit_job(&job, None))
            .await
            .expect("submit");
    }

    async fn final_record(&self, id: &str) -> JobRecord {
        let record = bounded(self.store.wait_final(id, TIMEOUT))
            .await
            .expect("the job exists");
        assert!(record.status.is_final(), "{id} is still {}", record.status);
        record
    }

    async fn next_started(&mut self) -> String {
        bounded(self.started.recv())
            .await
            .expect("the executor is alive")
    }

    /// Triggers the shutdown and waits for `run` to return.
    async fn shut_down(&mut self) {
        let sender = self.shutdown.take().expect("shut down only once");
        sender
            .send(())
            .expect("the runner awaits its shutdown signal");
        bounded(&mut self.runner)
            .await
            .expect("the runner task does not panic")
            .expect("the runner ends without error");
    }
}

async fn connect(redis: &RedisServer) -> RedisStore {
    RedisStore::connect(&redis.url(), "test")
        .await
        .expect("the private redis accepts connections")
}

async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .expect("finishes within the test timeout")
}

fn error_of(record: &JobRecord) -> &str {
    match &record.result {
        Some(JobResult::Error { error }) => error,
        other => panic!("expected an error result, got {other:?}"),
    }
}

#[tokio::test]
async fn a_claimed_job_runs_and_its_result_is_stored() {
    let mut harness = Harness::start(|_| {}).await;
    harness.submit("ok", "echo:hello", 10).await;
    harness.submit("bad", "fail:boom", 10).await;

    let ok = harness.final_record("ok").await;
    assert_eq!(ok.status, JobStatus::Completed);
    assert_eq!(ok.result, Some(JobResult::success("hello")));
    assert!(ok.started_at.is_some() && ok.completed_at.is_some());

    let bad = harness.final_record("bad").await;
    assert_eq!(bad.status, JobStatus::Failed);
    assert_eq!(error_of(&bad), "boom");
    harness.shut_down().await;
}

#[tokio::test]
async fn concurrency_two_runs_two_jobs_at_once() {
    let mut harness = Harness::start(|config| config.concurrency = 2).await;
    // Each `meet` job waits for the other, so they end only if both run at the same time.
    harness.submit("a", "meet", 60).await;
    harness.submit("b", "meet", 60).await;
    for id in ["a", "b"] {
        let record = harness.final_record(id).await;
        assert_eq!(record.status, JobStatus::Completed, "{id}");
        assert_eq!(record.result, Some(JobResult::success("met")));
    }
    harness.shut_down().await;
}

#[tokio::test]
async fn a_job_past_its_timeout_fails_as_timed_out() {
    let mut harness = Harness::start(|_| {}).await;
    // `hang` ignores cancellation, so this also shows the executor is dropped after its grace.
    harness.submit("slow", "hang", 1).await;
    let record = harness.final_record("slow").await;
    assert_eq!(record.status, JobStatus::Failed);
    assert_eq!(error_of(&record), "job timed out after 1s");
    harness.shut_down().await;
}

#[tokio::test]
async fn stop_ends_a_running_job_as_stopped() {
    let mut harness = Harness::start(|_| {}).await;
    harness.submit("long", "wait", 600).await;
    assert_eq!(harness.next_started().await, "long");

    let outcome = bounded(harness.store.stop_job("long", None))
        .await
        .expect("stop");
    assert_eq!(outcome, StopOutcome::Requested);
    let record = harness.final_record("long").await;
    assert_eq!(record.status, JobStatus::Stopped);
    assert_eq!(error_of(&record), "job stopped");
    harness.shut_down().await;
}

#[tokio::test]
async fn an_executor_panic_fails_the_job() {
    let mut harness = Harness::start(|_| {}).await;
    harness.submit("buggy", "panic", 10).await;
    let record = harness.final_record("buggy").await;
    assert_eq!(record.status, JobStatus::Failed);
    assert!(error_of(&record).contains("executor bug"), "{record:?}");
    harness.shut_down().await;
}

#[tokio::test]
async fn shutdown_stops_claiming() {
    let mut harness = Harness::start(|_| {}).await;
    harness.submit("before", "echo:1", 10).await;
    assert_eq!(
        harness.final_record("before").await.status,
        JobStatus::Completed
    );
    harness.shut_down().await;

    // The abandoned claim's connection closes asynchronously; until Redis has dropped it, a
    // blocked BLMOVE would still take a pushed job. Wait for that, then check nobody claims.
    let redis = &harness.redis;
    let unblocked = eventually(TIMEOUT, || async { !any_client_blocked(redis) }).await;
    assert!(unblocked, "the runner's blocking claim never went away");

    harness.submit("after", "echo:2", 10).await;
    let record = bounded(harness.store.job("after")).await.expect("job");
    assert_eq!(record.status, JobStatus::Queued);
    assert_eq!(
        bounded(harness.store.queue_len(QUEUE)).await.expect("len"),
        1
    );
}

#[tokio::test]
async fn shutdown_fails_jobs_that_outlast_the_grace() {
    let mut harness = Harness::start(|config| {
        config.shutdown_grace = std::time::Duration::from_millis(100);
    })
    .await;
    harness.submit("stuck", "wait", 600).await;
    assert_eq!(harness.next_started().await, "stuck");
    harness.shut_down().await;

    // `run` returns only after the report, so the job is already final.
    let record = bounded(harness.store.job("stuck")).await.expect("job");
    assert_eq!(record.status, JobStatus::Failed);
    assert_eq!(
        error_of(&record),
        "runner shut down before the job finished"
    );
}

fn any_client_blocked(redis: &RedisServer) -> bool {
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut redis.connection())
        .expect("CLIENT LIST");
    clients
        .lines()
        .any(|client| client.split(' ').any(|field| field == "flags=b"))
}

#[tokio::test]
async fn a_job_of_another_executor_is_refused_unexecuted() {
    let mut harness = Harness::start(|_| {}).await;
    let job = JobBuilder::new()
        .id("foreign")
        .payload("panic")
        .executor("osis")
        .runner(QUEUE)
        .build()
        .expect("a valid job");
    bounded(harness.store.submit_job(&job, None))
        .await
        .expect("submit");
    let record = harness.final_record("foreign").await;
    assert_eq!(record.status, JobStatus::Failed);
    assert_eq!(
        error_of(&record),
        format!("runner {QUEUE} runs executor test, not osis")
    );
    assert!(
        harness.started.try_recv().is_err(),
        "the executor never saw the job"
    );
    harness.shut_down().await;
}

/// The runner's store, on which every report is refused as unavailable for `hold` after the
/// first one, as during a Redis outage that spares the heartbeat; it counts the jobs claimed.
struct LateReports {
    inner: Arc<dyn Store>,
    hold: Duration,
    first_report: std::sync::Mutex<Option<tokio::time::Instant>>,
    claimed: Arc<AtomicUsize>,
}

#[async_trait]
impl Store for LateReports {
    async fn create_job(&self, job: &Job, owner: Option<&str>) -> hero_store::Result<()> {
        self.inner.create_job(job, owner).await
    }
    async fn start_job(&self, id: &str, owner: Option<&str>) -> hero_store::Result<()> {
        self.inner.start_job(id, owner).await
    }
    async fn submit_job(&self, job: &Job, owner: Option<&str>) -> hero_store::Result<()> {
        self.inner.submit_job(job, owner).await
    }
    async fn submit_jobs(
        &self,
        jobs: &[Job],
        owner: Option<&str>,
        start: bool,
    ) -> hero_store::Result<()> {
        self.inner.submit_jobs(jobs, owner, start).await
    }
    async fn job(&self, id: &str) -> hero_store::Result<JobRecord> {
        self.inner.job(id).await
    }
    async fn list_jobs(
        &self,
        filter: &hero_store::JobFilter,
    ) -> hero_store::Result<Vec<JobRecord>> {
        self.inner.list_jobs(filter).await
    }
    async fn delete_job(&self, id: &str, owner: Option<&str>) -> hero_store::Result<()> {
        self.inner.delete_job(id, owner).await
    }
    async fn stop_job(&self, id: &str, owner: Option<&str>) -> hero_store::Result<StopOutcome> {
        self.inner.stop_job(id, owner).await
    }
    async fn end_job(&self, id: &str, finish: Finish) -> hero_store::Result<JobRecord> {
        self.inner.end_job(id, finish).await
    }
    async fn wait_final(&self, id: &str, timeout: Duration) -> hero_store::Result<JobRecord> {
        self.inner.wait_final(id, timeout).await
    }
    async fn claim(
        &self,
        queue: &str,
        worker: &str,
        lease: Duration,
        wait: Duration,
        most: usize,
    ) -> hero_store::Result<Vec<Claimed>> {
        let claimed = self.inner.claim(queue, worker, lease, wait, most).await?;
        self.claimed.fetch_add(claimed.len(), Ordering::SeqCst);
        Ok(claimed)
    }
    async fn heartbeat(
        &self,
        worker: &str,
        lease: Duration,
        running: &[Attempt],
    ) -> hero_store::Result<Vec<Attempt>> {
        self.inner.heartbeat(worker, lease, running).await
    }
    async fn progress(
        &self,
        worker: &str,
        attempt: &Attempt,
        progress: &hero_job::Progress,
    ) -> hero_store::Result<bool> {
        self.inner.progress(worker, attempt, progress).await
    }
    async fn finish(
        &self,
        worker: &str,
        attempt: &Attempt,
        finish: Finish,
    ) -> hero_store::Result<bool> {
        let first = *self
            .first_report
            .lock()
            .expect("not poisoned")
            .get_or_insert_with(tokio::time::Instant::now);
        if first.elapsed() < self.hold {
            return Err(hero_store::Error::Unavailable {
                reason: "reports held back by the test".into(),
            });
        }
        self.inner.finish(worker, attempt, finish).await
    }
    async fn register_runner(&self, runner: &RunnerRecord) -> hero_store::Result<()> {
        self.inner.register_runner(runner).await
    }
    async fn runners(&self) -> hero_store::Result<Vec<RunnerRecord>> {
        self.inner.runners().await
    }
    async fn unregister_runner(&self, name: &str) -> hero_store::Result<()> {
        self.inner.unregister_runner(name).await
    }
    async fn last_seen(&self, queue: &str) -> hero_store::Result<Option<DateTime<Utc>>> {
        self.inner.last_seen(queue).await
    }
    async fn job_counts(&self) -> hero_store::Result<HashMap<JobStatus, u64>> {
        self.inner.job_counts().await
    }
    async fn put_retention(&self, retention: &hero_store::Retention) -> hero_store::Result<()> {
        self.inner.put_retention(retention).await
    }
    async fn secret_grants(&self) -> hero_store::Result<HashMap<String, String>> {
        self.inner.secret_grants().await
    }
    async fn put_secret_grant(
        &self,
        hash: &str,
        grant: &str,
        config_admins: &[String],
    ) -> hero_store::Result<bool> {
        self.inner
            .put_secret_grant(hash, grant, config_admins)
            .await
    }
    async fn watch_secrets(&self) -> hero_store::Result<tokio::sync::watch::Receiver<u64>> {
        self.inner.watch_secrets().await
    }
    async fn watch_jobs(
        &self,
    ) -> hero_store::Result<tokio::sync::broadcast::Receiver<hero_store::Watched>> {
        self.inner.watch_jobs().await
    }
    async fn results(
        &self,
        ids: &[String],
    ) -> hero_store::Result<Vec<Option<hero_job::JobResult>>> {
        self.inner.results(ids).await
    }
    async fn reap_expired(&self) -> hero_store::Result<Reaped> {
        self.inner.reap_expired().await
    }
    async fn put_schedule(
        &self,
        schedule: &hero_store::ScheduleRecord,
        max: usize,
    ) -> hero_store::Result<()> {
        self.inner.put_schedule(schedule, max).await
    }
    async fn schedules(&self) -> hero_store::Result<Vec<hero_store::ScheduleRecord>> {
        self.inner.schedules().await
    }
    async fn delete_schedule(&self, name: &str, owner: Option<&str>) -> hero_store::Result<()> {
        self.inner.delete_schedule(name, owner).await
    }
    async fn claim_tick(
        &self,
        name: &str,
        seed: &str,
        tick: chrono::DateTime<chrono::Utc>,
    ) -> hero_store::Result<hero_store::TickClaim> {
        self.inner.claim_tick(name, seed, tick).await
    }
    async fn promote_due(&self) -> hero_store::Result<hero_store::Promoted> {
        self.inner.promote_due().await
    }
    async fn watch_scheduled(&self) -> hero_store::Result<tokio::sync::watch::Receiver<u64>> {
        self.inner.watch_scheduled().await
    }
    async fn retry_job(&self, id: &str, owner: Option<&str>) -> hero_store::Result<()> {
        self.inner.retry_job(id, owner).await
    }
    async fn queue_len(&self, queue: &str) -> hero_store::Result<u64> {
        self.inner.queue_len(queue).await
    }
    async fn job_stats(&self) -> hero_store::Result<hero_store::JobStats> {
        self.inner.job_stats().await
    }
    async fn runner_loads(
        &self,
        runners: &[String],
    ) -> hero_store::Result<Vec<hero_store::RunnerLoad>> {
        self.inner.runner_loads(runners).await
    }
    async fn put_worker_stats(
        &self,
        stats: &hero_store::WorkerStats,
        ttl: Duration,
    ) -> hero_store::Result<()> {
        self.inner.put_worker_stats(stats, ttl).await
    }
    async fn worker_stats(&self) -> hero_store::Result<Vec<hero_store::WorkerStats>> {
        self.inner.worker_stats().await
    }
    async fn health(&self) -> hero_store::Result<()> {
        self.inner.health().await
    }
}

/// A run whose execution ended but whose report is retried for several leases stays listed
/// in the runner's heartbeats, so the store never takes it back: it is claimed once, and its
/// result lands when the store accepts reports again.
#[tokio::test]
async fn a_finished_job_whose_report_is_retried_stays_held_and_runs_once() {
    let lease = Duration::from_millis(300);
    let claimed = Arc::new(AtomicUsize::new(0));
    let counter = claimed.clone();
    let mut harness = Harness::start_with(
        |config| {
            config.lease = lease;
            config.heartbeat = Duration::from_millis(50);
            config.claim_wait = Duration::from_millis(100);
        },
        |inner| {
            Arc::new(LateReports {
                inner,
                hold: lease * 5,
                first_report: std::sync::Mutex::new(None),
                claimed: counter,
            })
        },
    )
    .await;
    harness.submit("held", "echo:once", 60).await;
    let record = harness.final_record("held").await;
    assert_eq!(record.status, JobStatus::Completed);
    assert_eq!(record.result, Some(JobResult::success("once")));
    assert_eq!(
        claimed.load(Ordering::SeqCst),
        1,
        "the run waiting to report was taken back and claimed again"
    );
    harness.shut_down().await;
}
