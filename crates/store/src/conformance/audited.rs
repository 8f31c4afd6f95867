//! [`Audited`]: the store wrapper every check runs through, failing on any status change
//! that [`JobStatus::can_become`] forbids.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hero_job::{Job, JobRecord, JobStatus};

use crate::{
    Attempt, Claimed, Finish, Promoted, Reaped, Retention, RunnerRecord, ScheduleRecord,
    StopOutcome, Store, TickClaim,
};

/// A [`Store`] that checks every status change its operations make against
/// [`JobStatus::can_become`], and panics on a forbidden one.
///
/// It compares the statuses of every job before and after each operation that may change
/// one, so the checks must not run operations concurrently with each other.
/// `run_job` is passed through unchecked: it waits for the job's end, which other operations
/// bring about meanwhile.
pub struct Audited {
    inner: Arc<dyn Store>,
}

impl Audited {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self { inner }
    }

    async fn statuses(&self) -> HashMap<String, JobStatus> {
        self.inner
            .list_jobs(&crate::JobFilter::all())
            .await
            .expect("list jobs for the audit")
            .into_iter()
            .map(|record| (record.job.id, record.status))
            .collect()
    }

    /// Runs `operation` and checks every status change it made.
    async fn audit<T>(&self, name: &str, operation: impl Future<Output = T>) -> T {
        let before = self.statuses().await;
        let output = operation.await;
        for (id, after) in self.statuses().await {
            match before.get(&id) {
                Some(&was) => assert!(
                    was == after || was.can_become(after),
                    "`{name}` moved job {id} from {was} to {after}, which \
                     JobStatus::can_become forbids"
                ),
                None => assert!(
                    matches!(
                        after,
                        JobStatus::Created | JobStatus::Scheduled | JobStatus::Queued
                    ),
                    "`{name}` made job {id} appear as {after}"
                ),
            }
        }
        output
    }
}

#[async_trait]
impl Store for Audited {
    async fn create_job(&self, job: &Job, owner: Option<&str>) -> crate::Result<()> {
        self.audit("create_job", self.inner.create_job(job, owner))
            .await
    }

    async fn start_job(&self, id: &str, owner: Option<&str>) -> crate::Result<()> {
        self.audit("start_job", self.inner.start_job(id, owner))
            .await
    }

    async fn submit_job(&self, job: &Job, owner: Option<&str>) -> crate::Result<()> {
        self.audit("submit_job", self.inner.submit_job(job, owner))
            .await
    }

    async fn submit_jobs(
        &self,
        jobs: &[Job],
        owner: Option<&str>,
        start: bool,
    ) -> crate::Result<()> {
        self.audit("submit_jobs", self.inner.submit_jobs(jobs, owner, start))
            .await
    }

    async fn run_job(
        &self,
        job: &Job,
        owner: Option<&str>,
        timeout: Duration,
    ) -> crate::Result<JobRecord> {
        self.inner.run_job(job, owner, timeout).await
    }

    async fn job(&self, id: &str) -> crate::Result<JobRecord> {
        self.inner.job(id).await
    }

    async fn list_jobs(&self, filter: &crate::JobFilter) -> crate::Result<Vec<JobRecord>> {
        self.inner.list_jobs(filter).await
    }

    async fn delete_job(&self, id: &str, owner: Option<&str>) -> crate::Result<()> {
        self.audit("delete_job", self.inner.delete_job(id, owner))
            .await
    }

    async fn stop_job(&self, id: &str, owner: Option<&str>) -> crate::Result<StopOutcome> {
        self.audit("stop_job", self.inner.stop_job(id, owner)).await
    }

    async fn end_job(&self, id: &str, finish: Finish) -> crate::Result<JobRecord> {
        self.audit("end_job", self.inner.end_job(id, finish)).await
    }

    async fn wait_final(&self, id: &str, timeout: Duration) -> crate::Result<JobRecord> {
        self.inner.wait_final(id, timeout).await
    }

    async fn claim(
        &self,
        queue: &str,
        worker: &str,
        lease: Duration,
        wait: Duration,
        most: usize,
    ) -> crate::Result<Vec<Claimed>> {
        let claim = self.inner.claim(queue, worker, lease, wait, most);
        self.audit("claim", claim).await
    }

    async fn heartbeat(
        &self,
        worker: &str,
        lease: Duration,
        running: &[Attempt],
    ) -> crate::Result<Vec<Attempt>> {
        let beat = self.inner.heartbeat(worker, lease, running);
        self.audit("heartbeat", beat).await
    }

    async fn finish(&self, worker: &str, attempt: &Attempt, finish: Finish) -> crate::Result<bool> {
        let report = self.inner.finish(worker, attempt, finish);
        self.audit("finish", report).await
    }

    async fn finish_and_claim(
        &self,
        worker: &str,
        attempt: &Attempt,
        finish: Finish,
        next: Option<&crate::NextClaim>,
    ) -> crate::Result<(bool, Option<Claimed>)> {
        let report = self.inner.finish_and_claim(worker, attempt, finish, next);
        self.audit("finish_and_claim", report).await
    }

    async fn progress(
        &self,
        worker: &str,
        attempt: &Attempt,
        progress: &hero_job::Progress,
    ) -> crate::Result<bool> {
        self.audit("progress", self.inner.progress(worker, attempt, progress))
            .await
    }

    async fn register_runner(&self, runner: &RunnerRecord) -> crate::Result<()> {
        self.inner.register_runner(runner).await
    }

    async fn unregister_runner(&self, name: &str) -> crate::Result<()> {
        self.inner.unregister_runner(name).await
    }

    async fn runners(&self) -> crate::Result<Vec<RunnerRecord>> {
        self.inner.runners().await
    }

    async fn last_seen(&self, queue: &str) -> crate::Result<Option<DateTime<Utc>>> {
        self.inner.last_seen(queue).await
    }

    async fn job_counts(&self) -> crate::Result<HashMap<JobStatus, u64>> {
        self.inner.job_counts().await
    }

    async fn put_retention(&self, retention: &Retention) -> crate::Result<()> {
        self.inner.put_retention(retention).await
    }

    async fn secret_grants(&self) -> crate::Result<HashMap<String, String>> {
        self.inner.secret_grants().await
    }

    async fn put_secret_grant(
        &self,
        hash: &str,
        grant: &str,
        config_admins: &[String],
    ) -> crate::Result<bool> {
        self.inner
            .put_secret_grant(hash, grant, config_admins)
            .await
    }

    async fn watch_secrets(&self) -> crate::Result<tokio::sync::watch::Receiver<u64>> {
        self.inner.watch_secrets().await
    }

    async fn watch_jobs(&self) -> crate::Result<tokio::sync::broadcast::Receiver<crate::Watched>> {
        self.inner.watch_jobs().await
    }

    async fn results(&self, ids: &[String]) -> crate::Result<Vec<Option<hero_job::JobResult>>> {
        self.inner.results(ids).await
    }

    async fn reap_expired(&self) -> crate::Result<Reaped> {
        self.audit("reap_expired", self.inner.reap_expired()).await
    }

    async fn put_schedule(&self, schedule: &ScheduleRecord, max: usize) -> crate::Result<()> {
        self.inner.put_schedule(schedule, max).await
    }

    async fn schedules(&self) -> crate::Result<Vec<ScheduleRecord>> {
        self.inner.schedules().await
    }

    async fn delete_schedule(&self, name: &str, owner: Option<&str>) -> crate::Result<()> {
        self.inner.delete_schedule(name, owner).await
    }

    async fn claim_tick(
        &self,
        name: &str,
        seed: &str,
        tick: DateTime<Utc>,
    ) -> crate::Result<TickClaim> {
        self.inner.claim_tick(name, seed, tick).await
    }

    async fn promote_due(&self) -> crate::Result<Promoted> {
        self.audit("promote_due", self.inner.promote_due()).await
    }

    async fn watch_scheduled(&self) -> crate::Result<tokio::sync::watch::Receiver<u64>> {
        self.inner.watch_scheduled().await
    }

    async fn retry_job(&self, id: &str, owner: Option<&str>) -> crate::Result<()> {
        self.audit("retry_job", self.inner.retry_job(id, owner))
            .await
    }

    async fn queue_len(&self, queue: &str) -> crate::Result<u64> {
        self.inner.queue_len(queue).await
    }

    async fn job_stats(&self) -> crate::Result<crate::JobStats> {
        self.inner.job_stats().await
    }

    async fn runner_loads(&self, runners: &[String]) -> crate::Result<Vec<crate::RunnerLoad>> {
        self.inner.runner_loads(runners).await
    }

    async fn put_worker_stats(
        &self,
        stats: &crate::WorkerStats,
        ttl: std::time::Duration,
    ) -> crate::Result<()> {
        self.inner.put_worker_stats(stats, ttl).await
    }

    async fn worker_stats(&self) -> crate::Result<Vec<crate::WorkerStats>> {
        self.inner.worker_stats().await
    }

    async fn health(&self) -> crate::Result<()> {
        self.inner.health().await
    }
}
