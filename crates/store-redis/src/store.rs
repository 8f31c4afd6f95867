//! [`RedisStore`]'s [`Store`] implementation: each method names the file of its concept by
//! delegating to the inherent method of the same name there (`jobs`, `waits`, `claims`,
//! `runners`, `schedules` (cron), `scheduled` (delayed jobs), `counts`, `stats`, `retention`,
//! `secrets`, `connection`).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hero_job::{Job, JobRecord, JobStatus, Progress};
use hero_store::{
    Attempt, Claimed, Finish, NextClaim, Promoted, Reaped, Result, Retention, RunnerRecord,
    ScheduleRecord, StopOutcome, Store, TickClaim,
};

use crate::connection::RedisStore;

// Inherent methods take precedence over trait methods of the same name, so each
// `self.method(…)` below calls the inherent one and does not recurse.
#[async_trait]
impl Store for RedisStore {
    async fn create_job(&self, job: &Job, owner: Option<&str>) -> Result<()> {
        self.submit(job, owner, false).await
    }

    async fn start_job(&self, id: &str, owner: Option<&str>) -> Result<()> {
        self.start_job(id, owner).await
    }

    async fn submit_job(&self, job: &Job, owner: Option<&str>) -> Result<()> {
        self.submit(job, owner, true).await
    }

    async fn submit_jobs(&self, jobs: &[Job], owner: Option<&str>, start: bool) -> Result<()> {
        self.submit_many(jobs, owner, start).await
    }

    async fn run_job(
        &self,
        job: &Job,
        owner: Option<&str>,
        timeout: Duration,
    ) -> Result<JobRecord> {
        self.run_job(job, owner, timeout).await
    }

    async fn job(&self, id: &str) -> Result<JobRecord> {
        self.job(id).await
    }

    async fn list_jobs(&self, filter: &hero_store::JobFilter) -> Result<Vec<JobRecord>> {
        self.list_jobs(filter).await
    }

    async fn delete_job(&self, id: &str, owner: Option<&str>) -> Result<()> {
        self.delete_job(id, owner).await
    }

    async fn stop_job(&self, id: &str, owner: Option<&str>) -> Result<StopOutcome> {
        self.stop_job(id, owner).await
    }

    async fn end_job(&self, id: &str, finish: Finish) -> Result<JobRecord> {
        self.end_job(id, finish).await
    }

    async fn wait_final(&self, id: &str, timeout: Duration) -> Result<JobRecord> {
        self.wait_final(id, timeout).await
    }

    async fn claim(
        &self,
        queue: &str,
        worker: &str,
        lease: Duration,
        wait: Duration,
        most: usize,
    ) -> Result<Vec<Claimed>> {
        self.claim(queue, worker, lease, wait, most).await
    }

    async fn heartbeat(
        &self,
        worker: &str,
        lease: Duration,
        running: &[Attempt],
    ) -> Result<Vec<Attempt>> {
        self.heartbeat(worker, lease, running).await
    }

    async fn finish(&self, worker: &str, attempt: &Attempt, finish: Finish) -> Result<bool> {
        self.finish(worker, attempt, finish).await
    }

    async fn finish_and_claim(
        &self,
        worker: &str,
        attempt: &Attempt,
        finish: Finish,
        next: Option<&NextClaim>,
    ) -> Result<(bool, Option<Claimed>)> {
        self.finish_and_claim(worker, attempt, finish, next).await
    }

    async fn progress(&self, worker: &str, attempt: &Attempt, progress: &Progress) -> Result<bool> {
        self.progress(worker, attempt, progress).await
    }

    async fn register_runner(&self, runner: &RunnerRecord) -> Result<()> {
        self.register_runner(runner).await
    }

    async fn runners(&self) -> Result<Vec<RunnerRecord>> {
        self.runners().await
    }

    async fn unregister_runner(&self, name: &str) -> Result<()> {
        self.unregister_runner(name).await
    }

    async fn last_seen(&self, queue: &str) -> Result<Option<DateTime<Utc>>> {
        self.last_seen(queue).await
    }

    async fn job_counts(&self) -> Result<HashMap<JobStatus, u64>> {
        self.job_counts().await
    }

    async fn put_retention(&self, retention: &Retention) -> Result<()> {
        self.put_retention(retention).await
    }

    async fn secret_grants(&self) -> Result<HashMap<String, String>> {
        self.secret_grants().await
    }

    async fn put_secret_grant(
        &self,
        hash: &str,
        grant: &str,
        config_admins: &[String],
    ) -> Result<bool> {
        self.put_secret_grant(hash, grant, config_admins).await
    }

    async fn watch_secrets(&self) -> Result<tokio::sync::watch::Receiver<u64>> {
        self.watch_secrets().await
    }

    async fn watch_jobs(&self) -> Result<tokio::sync::broadcast::Receiver<hero_store::Watched>> {
        self.watch_jobs().await
    }

    async fn results(&self, ids: &[String]) -> Result<Vec<Option<hero_job::JobResult>>> {
        self.results(ids).await
    }

    async fn reap_expired(&self) -> Result<Reaped> {
        self.reap_expired().await
    }

    async fn put_schedule(&self, schedule: &ScheduleRecord, max: usize) -> Result<()> {
        self.put_schedule(schedule, max).await
    }

    async fn schedules(&self) -> Result<Vec<ScheduleRecord>> {
        self.schedules().await
    }

    async fn delete_schedule(&self, name: &str, owner: Option<&str>) -> Result<()> {
        self.delete_schedule(name, owner).await
    }

    async fn claim_tick(&self, name: &str, seed: &str, tick: DateTime<Utc>) -> Result<TickClaim> {
        self.claim_tick(name, seed, tick).await
    }

    async fn promote_due(&self) -> Result<Promoted> {
        self.promote_due().await
    }

    async fn retry_job(&self, id: &str, owner: Option<&str>) -> Result<()> {
        self.retry_job(id, owner).await
    }

    async fn watch_scheduled(&self) -> Result<tokio::sync::watch::Receiver<u64>> {
        self.watch_scheduled().await
    }

    async fn queue_len(&self, queue: &str) -> Result<u64> {
        self.queue_len(queue).await
    }

    async fn job_stats(&self) -> Result<hero_store::JobStats> {
        self.job_stats().await
    }

    async fn runner_loads(&self, runners: &[String]) -> Result<Vec<hero_store::RunnerLoad>> {
        self.runner_loads(runners).await
    }

    async fn put_worker_stats(&self, stats: &hero_store::WorkerStats, ttl: Duration) -> Result<()> {
        self.put_worker_stats(stats, ttl).await
    }

    async fn worker_stats(&self) -> Result<Vec<hero_store::WorkerStats>> {
        self.worker_stats().await
    }

    async fn health(&self) -> Result<()> {
        self.health().await
    }
}
