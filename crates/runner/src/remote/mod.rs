//! [`RemoteStore`]: the store of a runner that reaches it through the supervisor's runner
//! endpoint (`--supervisor unix://PATH` or `--supervisor http(s)://HOST:PORT`) instead of
//! connecting to it itself.
//!
//! - this file: the [`Store`] methods a runner uses, each one endpoint call;
//! - `client`: the Unix socket's connection, its requests and their answers;
//! - `http`: the same calls on the supervisor's API port, with the runner's secret.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hero_job::{Job, JobRecord, JobResult, JobStatus, Progress};
use hero_store::{
    Attempt, Claimed, Error, Finish, JobFilter, JobStats, Promoted, Reaped, Result, Retention,
    RunnerLoad, RunnerRecord, ScheduleRecord, StopOutcome, Store, TickClaim, Watched, WorkerStats,
};
use hero_supervisor_api::Secret;
use hero_supervisor_api::endpoint as wire;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

mod client;
mod http;

use http::{Http, within};

/// How long a call other than a claim may wait for its answer before it counts as failed
/// (and is retried by the runner, like any store outage).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`Store`] offering a runner's operations over the supervisor's runner endpoint.
///
/// `claim`, `heartbeat`, `finish`, `progress`, `put_worker_stats` and `health` go to the
/// supervisor, which makes the same call on its own store, attempt-token fencing included.
/// Every other method answers [`Error::Unsupported`]: it is the supervisor's, not a
/// runner's. A broken connection or an unreachable supervisor answers [`Error::Unavailable`],
/// which the runner retries; a refusal (a wrong secret, say) answers `Unsupported`.
pub struct RemoteStore {
    transport: Transport,
}

enum Transport {
    Unix(client::Client),
    Http(Http),
}

impl RemoteStore {
    /// A store reached through the runner endpoint's Unix socket at `path`. Nothing is
    /// connected until the first call; [`health`](Store::health) checks the way.
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        Self {
            transport: Transport::Unix(client::Client::new(path.into())),
        }
    }

    /// A store reached through the supervisor's API at `url` (`http://HOST:PORT` or
    /// `https://…`), each call carrying `secret`, a register or admin secret.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] when `url` cannot be used.
    pub fn http(url: &str, secret: Secret) -> Result<Self> {
        Ok(Self {
            transport: Transport::Http(Http::new(url, secret)?),
        })
    }

    /// Sends a socket request: `params` by name, the answer read as `T`.
    async fn on_socket<T: DeserializeOwned>(
        client: &client::Client,
        method: &str,
        params: &impl Serialize,
        timeout: Duration,
    ) -> Result<T> {
        let params = serde_json::to_value(params).expect("wire types serialize: plain structs");
        let value = client.call(method, params, timeout).await?;
        serde_json::from_value(value).map_err(|e| Error::Corrupt {
            key: method.to_owned(),
            reason: format!("the supervisor's answer does not fit: {e}"),
        })
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn to_wire(attempt: &Attempt) -> wire::Attempt {
    wire::Attempt {
        id: attempt.id.clone(),
        token: attempt.token,
    }
}

fn unsupported<T>(operation: &str) -> Result<T> {
    Err(Error::Unsupported {
        reason: format!(
            "`{operation}` is not available to a runner connected through the supervisor"
        ),
    })
}

#[async_trait]
impl Store for RemoteStore {
    async fn claim(
        &self,
        queue: &str,
        worker: &str,
        lease: Duration,
        wait: Duration,
        most: usize,
    ) -> Result<Vec<Claimed>> {
        let params = wire::ClaimParams {
            queue: queue.to_owned(),
            worker: worker.to_owned(),
            lease_ms: millis(lease),
            wait_ms: millis(wait),
            most,
        };
        // The supervisor holds a claim up to its own bound at most; past that plus the
        // usual allowance, the answer is not coming.
        let timeout = wait.min(Duration::from_millis(wire::MAX_CLAIM_WAIT_MS)) + CALL_TIMEOUT;
        let claimed: Vec<wire::Claimed> = match &self.transport {
            Transport::Unix(client) => {
                Self::on_socket(client, wire::CLAIM, &params, timeout).await?
            }
            Transport::Http(http) => {
                within(
                    timeout,
                    http.client.runner_claim(http.secret.expose(), &params),
                )
                .await?
            }
        };
        Ok(claimed
            .into_iter()
            .map(|c| Claimed {
                job: c.job,
                token: c.token,
            })
            .collect())
    }

    async fn heartbeat(
        &self,
        worker: &str,
        lease: Duration,
        running: &[Attempt],
    ) -> Result<Vec<Attempt>> {
        let params = wire::HeartbeatParams {
            worker: worker.to_owned(),
            lease_ms: millis(lease),
            running: running.iter().map(to_wire).collect(),
        };
        let stops: Vec<wire::Attempt> = match &self.transport {
            Transport::Unix(client) => {
                Self::on_socket(client, wire::HEARTBEAT, &params, CALL_TIMEOUT).await?
            }
            Transport::Http(http) => {
                let call = http.client.runner_heartbeat(http.secret.expose(), &params);
                within(CALL_TIMEOUT, call).await?
            }
        };
        Ok(stops
            .into_iter()
            .map(|a| Attempt {
                id: a.id,
                token: a.token,
            })
            .collect())
    }

    async fn finish(&self, worker: &str, attempt: &Attempt, finish: Finish) -> Result<bool> {
        let params = wire::FinishParams {
            worker: worker.to_owned(),
            attempt: to_wire(attempt),
            status: finish.status,
            result: finish.result,
        };
        match &self.transport {
            Transport::Unix(client) => {
                Self::on_socket(client, wire::FINISH, &params, CALL_TIMEOUT).await
            }
            Transport::Http(http) => {
                let call = http.client.runner_finish(http.secret.expose(), &params);
                within(CALL_TIMEOUT, call).await
            }
        }
    }

    async fn progress(&self, worker: &str, attempt: &Attempt, progress: &Progress) -> Result<bool> {
        let params = wire::ProgressParams {
            worker: worker.to_owned(),
            attempt: to_wire(attempt),
            progress: progress.clone(),
        };
        match &self.transport {
            Transport::Unix(client) => {
                Self::on_socket(client, wire::PROGRESS, &params, CALL_TIMEOUT).await
            }
            Transport::Http(http) => {
                let call = http.client.runner_progress(http.secret.expose(), &params);
                within(CALL_TIMEOUT, call).await
            }
        }
    }

    async fn put_worker_stats(&self, stats: &WorkerStats, ttl: Duration) -> Result<()> {
        let params = wire::WorkerStatsParams {
            stats: wire::WorkerStats {
                worker: stats.worker.clone(),
                runner: stats.runner.clone(),
                jobs: stats.jobs,
                failures: stats.failures,
                busy: stats.busy,
                slots: stats.slots,
            },
            ttl_ms: millis(ttl),
        };
        match &self.transport {
            Transport::Unix(client) => {
                let _: Value =
                    Self::on_socket(client, wire::PUT_WORKER_STATS, &params, CALL_TIMEOUT).await?;
                Ok(())
            }
            Transport::Http(http) => {
                let call = http
                    .client
                    .runner_put_worker_stats(http.secret.expose(), &params);
                within(CALL_TIMEOUT, call).await
            }
        }
    }

    async fn health(&self) -> Result<()> {
        match &self.transport {
            Transport::Unix(client) => {
                let _: Value =
                    Self::on_socket(client, wire::HEALTH, &serde_json::json!({}), CALL_TIMEOUT)
                        .await?;
                Ok(())
            }
            Transport::Http(http) => {
                within(
                    CALL_TIMEOUT,
                    http.client.runner_health(http.secret.expose()),
                )
                .await
            }
        }
    }

    async fn create_job(&self, _job: &Job, _owner: Option<&str>) -> Result<()> {
        unsupported("create_job")
    }

    async fn start_job(&self, _id: &str, _owner: Option<&str>) -> Result<()> {
        unsupported("start_job")
    }

    async fn submit_job(&self, _job: &Job, _owner: Option<&str>) -> Result<()> {
        unsupported("submit_job")
    }

    async fn submit_jobs(&self, _jobs: &[Job], _owner: Option<&str>, _start: bool) -> Result<()> {
        unsupported("submit_jobs")
    }

    async fn job(&self, _id: &str) -> Result<JobRecord> {
        unsupported("job")
    }

    async fn list_jobs(&self, _filter: &JobFilter) -> Result<Vec<JobRecord>> {
        unsupported("list_jobs")
    }

    async fn delete_job(&self, _id: &str, _owner: Option<&str>) -> Result<()> {
        unsupported("delete_job")
    }

    async fn stop_job(&self, _id: &str, _owner: Option<&str>) -> Result<StopOutcome> {
        unsupported("stop_job")
    }

    async fn end_job(&self, _id: &str, _finish: Finish) -> Result<JobRecord> {
        unsupported("end_job")
    }

    async fn wait_final(&self, _id: &str, _timeout: Duration) -> Result<JobRecord> {
        unsupported("wait_final")
    }

    async fn register_runner(&self, _runner: &RunnerRecord) -> Result<()> {
        unsupported("register_runner")
    }

    async fn runners(&self) -> Result<Vec<RunnerRecord>> {
        unsupported("runners")
    }

    async fn unregister_runner(&self, _name: &str) -> Result<()> {
        unsupported("unregister_runner")
    }

    async fn last_seen(&self, _queue: &str) -> Result<Option<DateTime<Utc>>> {
        unsupported("last_seen")
    }

    async fn job_counts(&self) -> Result<HashMap<JobStatus, u64>> {
        unsupported("job_counts")
    }

    async fn put_retention(&self, _retention: &Retention) -> Result<()> {
        unsupported("put_retention")
    }

    async fn secret_grants(&self) -> Result<HashMap<String, String>> {
        unsupported("secret_grants")
    }

    async fn put_secret_grant(
        &self,
        _hash: &str,
        _grant: &str,
        _config_admins: &[String],
    ) -> Result<bool> {
        unsupported("put_secret_grant")
    }

    async fn watch_secrets(&self) -> Result<tokio::sync::watch::Receiver<u64>> {
        unsupported("watch_secrets")
    }

    async fn watch_jobs(&self) -> Result<tokio::sync::broadcast::Receiver<Watched>> {
        unsupported("watch_jobs")
    }

    async fn results(&self, _ids: &[String]) -> Result<Vec<Option<JobResult>>> {
        unsupported("results")
    }

    async fn reap_expired(&self) -> Result<Reaped> {
        unsupported("reap_expired")
    }

    async fn put_schedule(&self, _schedule: &ScheduleRecord, _max: usize) -> Result<()> {
        unsupported("put_schedule")
    }

    async fn schedules(&self) -> Result<Vec<ScheduleRecord>> {
        unsupported("schedules")
    }

    async fn delete_schedule(&self, _name: &str, _owner: Option<&str>) -> Result<()> {
        unsupported("delete_schedule")
    }

    async fn claim_tick(
        &self,
        _name: &str,
        _seed: &str,
        _tick: DateTime<Utc>,
    ) -> Result<TickClaim> {
        unsupported("claim_tick")
    }

    async fn promote_due(&self) -> Result<Promoted> {
        unsupported("promote_due")
    }

    async fn watch_scheduled(&self) -> Result<tokio::sync::watch::Receiver<u64>> {
        unsupported("watch_scheduled")
    }

    async fn retry_job(&self, _id: &str, _owner: Option<&str>) -> Result<()> {
        unsupported("retry_job")
    }

    async fn queue_len(&self, _queue: &str) -> Result<u64> {
        unsupported("queue_len")
    }

    async fn job_stats(&self) -> Result<JobStats> {
        unsupported("job_stats")
    }

    async fn runner_loads(&self, _runners: &[String]) -> Result<Vec<RunnerLoad>> {
        unsupported("runner_loads")
    }

    async fn worker_stats(&self) -> Result<Vec<WorkerStats>> {
        unsupported("worker_stats")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn supervisor_methods_are_refused_without_a_connection() {
        let store = RemoteStore::unix("/nonexistent/runner.sock");
        let error = store.job("some-id").await.unwrap_err();
        assert!(matches!(error, Error::Unsupported { .. }), "{error}");
        assert!(!error.is_retryable());
        assert!(error.to_string().contains("`job`"), "{error}");
    }

    #[tokio::test]
    async fn a_missing_socket_is_an_outage_the_runner_retries() {
        let store = RemoteStore::unix("/nonexistent/runner.sock");
        let error = store.health().await.unwrap_err();
        assert!(error.is_retryable(), "{error}");
        assert!(
            error.to_string().contains("/nonexistent/runner.sock"),
            "{error}"
        );
    }
}
