//! [`RedisStore`]: the [`Store`] trait over Redis.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use hero_job::{Job, JobRecord, JobStatus};
use hero_store::{
    Attempt, Claimed, Error, Finish, MAX_RUNNER_LOSSES, Reaped, Result, RunnerRecord, StopOutcome,
    Store, TIMEOUT_GRACE,
};
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::events::{self, Events};
use crate::keys::Keys;
use crate::record;

/// How long connecting and each ordinary command may take before the store reports
/// the backend unavailable.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// Jobs read per pipeline when listing.
const LIST_CHUNK: usize = 1000;

struct Scripts {
    submit: redis::Script,
    start: redis::Script,
    claim: redis::Script,
    heartbeat: redis::Script,
    finish: redis::Script,
    end: redis::Script,
    stop: redis::Script,
    delete: redis::Script,
    counts: redis::Script,
    reap: redis::Script,
}

impl Scripts {
    fn load() -> Self {
        Self {
            submit: redis::Script::new(include_str!("../lua/submit.lua")),
            start: redis::Script::new(include_str!("../lua/start.lua")),
            claim: redis::Script::new(include_str!("../lua/claim.lua")),
            heartbeat: redis::Script::new(include_str!("../lua/heartbeat.lua")),
            finish: redis::Script::new(include_str!("../lua/finish.lua")),
            end: redis::Script::new(include_str!("../lua/end.lua")),
            stop: redis::Script::new(include_str!("../lua/stop.lua")),
            delete: redis::Script::new(include_str!("../lua/delete.lua")),
            counts: redis::Script::new(include_str!("../lua/counts.lua")),
            reap: redis::Script::new(include_str!("../lua/reap.lua")),
        }
    }
}

/// A [`Store`] keeping everything in Redis under `{namespace}:v1:`.
///
/// Cloning is cheap and shares connections. Several processes may use one Redis at once:
/// no state lives outside it.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    /// Shared, reconnecting connection for every non-blocking command.
    conn: ConnectionManager,
    /// `BLMOVE` blocks its connection, so waiting claims get one of their own; the mutex
    /// lets one claimer wait at a time while the others queue behind it.
    blocking: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// End-of-job subscription, opened by the first waiter.
    events: OnceCell<Arc<Events>>,
    /// The subscription task, aborted when the store is dropped.
    listener: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    keys: Keys,
    scripts: Scripts,
    safe_url: String,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self
            .listener
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.inner.safe_url)
            .finish_non_exhaustive()
    }
}

/// `url` with any password replaced by `***`, fit for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or("", |(user, _)| user);
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl RedisStore {
    /// Connects to the Redis at `url` and checks that it answers.
    ///
    /// # Errors
    ///
    /// `Unavailable` when the URL is malformed or Redis does not answer in time; the message
    /// names the URL without its password.
    pub async fn connect(url: &str, namespace: &str) -> Result<Self> {
        let safe_url = redact_url(url);
        let unavailable = |e: redis::RedisError| Error::Unavailable {
            reason: format!("redis at {safe_url}: {e}"),
        };
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(2);
        let conn = tokio::time::timeout(
            COMMAND_TIMEOUT,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| Error::Unavailable {
            reason: format!("redis at {safe_url}: no answer within {COMMAND_TIMEOUT:?}"),
        })?
        .map_err(unavailable)?;
        let store = Self {
            inner: Arc::new(Inner {
                client,
                conn,
                blocking: tokio::sync::Mutex::new(None),
                events: OnceCell::new(),
                listener: std::sync::Mutex::new(None),
                keys: Keys::new(namespace),
                scripts: Scripts::load(),
                safe_url,
            }),
        };
        store.health().await?;
        Ok(store)
    }

    fn conn(&self) -> ConnectionManager {
        self.inner.conn.clone()
    }

    fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    fn unavailable(&self, e: redis::RedisError) -> Error {
        Error::Unavailable {
            reason: format!("redis at {}: {e}", self.inner.safe_url),
        }
    }

    async fn events(&self) -> Result<&Arc<Events>> {
        self.inner
            .events
            .get_or_try_init(|| async {
                let events = Arc::new(Events::default());
                let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
                let task = tokio::spawn(events::listen(
                    self.inner.client.clone(),
                    self.keys().events(),
                    events.clone(),
                    ready_tx,
                ));
                let ready = tokio::time::timeout(COMMAND_TIMEOUT, ready_rx).await;
                if !matches!(ready, Ok(Ok(()))) {
                    task.abort();
                    return Err(Error::Unavailable {
                        reason: format!(
                            "redis at {}: cannot subscribe to job events",
                            self.inner.safe_url
                        ),
                    });
                }
                *self
                    .inner
                    .listener
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some(task);
                Ok(events)
            })
            .await
    }

    async fn fields(&self, id: &str) -> Result<HashMap<String, String>> {
        self.conn()
            .hgetall(self.keys().job(id))
            .await
            .map_err(|e| self.unavailable(e))
    }

    fn require(id: &str, record: Option<JobRecord>) -> Result<JobRecord> {
        record.ok_or_else(|| Error::JobNotFound { id: id.to_owned() })
    }

    async fn submit(&self, job: &Job, owner: Option<&str>, queue: bool) -> Result<()> {
        let json = serde_json::to_string(job).map_err(|e| Error::Corrupt {
            key: job.id.clone(),
            reason: e.to_string(),
        })?;
        let keys = self.keys();
        let created: i64 = self
            .inner
            .scripts
            .submit
            .key(keys.job(&job.id))
            .key(keys.jobs())
            .key(keys.queue(&job.runner))
            .arg(&job.id)
            .arg(json)
            .arg(&job.runner)
            .arg(job.created_at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            .arg(job.created_at.timestamp_millis())
            .arg(if queue { "1" } else { "0" })
            .arg(job.timeout)
            .arg(job.retries)
            .arg(owner.unwrap_or_default())
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        if created == 0 {
            return Err(Error::JobExists { id: job.id.clone() });
        }
        Ok(())
    }

    /// Reads the job until it is final or `deadline` passes, waking on its announcements.
    async fn wait_until(&self, events: &Events, id: &str, deadline: Instant) -> Result<JobRecord> {
        loop {
            let woken = events.register(id);
            let record = self.job(id).await?;
            if record.status.is_final() {
                return Ok(record);
            }
            // Woken or not (a dropped sender means the listener restarted), read again;
            // a deadline that passed ends the wait with the job as it is.
            if tokio::time::timeout_at(deadline, woken).await.is_err() {
                return self.job(id).await;
            }
        }
    }

    async fn claim_marked(
        &self,
        queue: &str,
        worker: &str,
        lease: Duration,
        moved: &str,
        most: usize,
    ) -> Result<Vec<Claimed>> {
        let keys = self.keys();
        let claimed: Vec<(u64, String)> = self
            .inner
            .scripts
            .claim
            .key(keys.queue(queue))
            .key(keys.inflight(worker))
            .key(keys.workers())
            .key(keys.seen())
            .key(keys.attempts())
            .arg(keys.job_prefix())
            .arg(worker)
            .arg(millis(lease))
            .arg(now())
            .arg(moved)
            .arg(most.max(1))
            .arg(queue)
            .arg(millis(TIMEOUT_GRACE))
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        claimed
            .iter()
            .map(|(token, json)| {
                let job = serde_json::from_str(json).map_err(|e| Error::Corrupt {
                    key: queue.to_owned(),
                    reason: format!("claimed job json: {e}"),
                })?;
                Ok(Claimed { job, token: *token })
            })
            .collect()
    }

    /// Waits on the queue with `BLMOVE`; returns the id it moved into the in-flight list.
    async fn wait_for_id(
        &self,
        queue: &str,
        worker: &str,
        wait: Duration,
    ) -> Result<Option<String>> {
        let mut slot = self.inner.blocking.lock().await;
        let mut conn = match slot.take() {
            Some(conn) => conn,
            None => {
                let config = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(COMMAND_TIMEOUT))
                    .set_response_timeout(None);
                self.inner
                    .client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map_err(|e| self.unavailable(e))?
            }
        };
        let keys = self.keys();
        let moved = tokio::time::timeout(
            wait + COMMAND_TIMEOUT,
            conn.blmove::<_, _, Option<String>>(
                keys.queue(queue),
                keys.inflight(worker),
                redis::Direction::Right,
                redis::Direction::Left,
                wait.as_secs_f64().max(0.01),
            ),
        )
        .await;
        match moved {
            Ok(Ok(id)) => {
                *slot = Some(conn);
                Ok(id)
            }
            // The connection may still be blocked server-side; it is dropped, not reused.
            Ok(Err(e)) => Err(self.unavailable(e)),
            Err(_) => Err(Error::Unavailable {
                reason: format!(
                    "redis at {}: blocking claim did not return",
                    self.inner.safe_url
                ),
            }),
        }
    }
}

/// Drops the closed senders of a waiter's job when the waiter goes away.
struct ForgetOnDrop<'a> {
    events: &'a Events,
    id: &'a str,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        self.events.forget_closed(self.id);
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn create_job(&self, job: &Job, owner: Option<&str>) -> Result<()> {
        self.submit(job, owner, false).await
    }

    async fn start_job(&self, id: &str) -> Result<()> {
        let keys = self.keys();
        let outcome: String = self
            .inner
            .scripts
            .start
            .key(keys.job(id))
            .arg(id)
            .arg(now())
            .arg(keys.queue_prefix())
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        match outcome.as_str() {
            "ok" => Ok(()),
            "missing" => Err(Error::JobNotFound { id: id.to_owned() }),
            status => Err(Error::WrongState {
                id: id.to_owned(),
                status: status.parse().map_err(|e| Error::Corrupt {
                    key: id.to_owned(),
                    reason: format!("{e}"),
                })?,
                action: "started",
            }),
        }
    }

    async fn submit_job(&self, job: &Job, owner: Option<&str>) -> Result<()> {
        self.submit(job, owner, true).await
    }

    async fn job(&self, id: &str) -> Result<JobRecord> {
        let fields = self.fields(id).await?;
        Self::require(id, record::from_fields(id, fields)?)
    }

    async fn list_jobs(&self) -> Result<Vec<JobRecord>> {
        let mut conn = self.conn();
        let ids: Vec<String> = conn
            .zrange(self.keys().jobs(), 0, -1)
            .await
            .map_err(|e| self.unavailable(e))?;
        let mut records = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(LIST_CHUNK) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.hgetall(self.keys().job(id));
            }
            let hashes: Vec<HashMap<String, String>> = pipe
                .query_async(&mut conn)
                .await
                .map_err(|e| self.unavailable(e))?;
            for (id, fields) in chunk.iter().zip(hashes) {
                // A job deleted between the two reads is simply no longer listed.
                if let Some(record) = record::from_fields(id, fields)? {
                    records.push(record);
                }
            }
        }
        Ok(records)
    }

    async fn delete_job(&self, id: &str) -> Result<()> {
        let keys = self.keys();
        let deleted: i64 = self
            .inner
            .scripts
            .delete
            .key(keys.job(id))
            .key(keys.jobs())
            .arg(id)
            .arg(keys.events())
            .arg(keys.queue_prefix())
            .arg(keys.inflight_prefix())
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        if deleted == 0 {
            return Err(Error::JobNotFound { id: id.to_owned() });
        }
        Ok(())
    }

    async fn stop_job(&self, id: &str) -> Result<StopOutcome> {
        let keys = self.keys();
        let result = serde_json::json!({"error": "job stopped"}).to_string();
        let outcome: String = self
            .inner
            .scripts
            .stop
            .key(keys.job(id))
            .arg(id)
            .arg(result)
            .arg(now())
            .arg(keys.events())
            .arg(keys.queue_prefix())
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        match outcome.as_str() {
            "stopped" => Ok(StopOutcome::Stopped),
            "requested" => Ok(StopOutcome::Requested),
            "final" => Ok(StopOutcome::AlreadyFinal),
            _ => Err(Error::JobNotFound { id: id.to_owned() }),
        }
    }

    async fn end_job(&self, id: &str, finish: Finish) -> Result<JobRecord> {
        let keys = self.keys();
        let result = serde_json::to_string(&finish.result).map_err(|e| Error::Corrupt {
            key: id.to_owned(),
            reason: e.to_string(),
        })?;
        let from: Vec<&str> = JobStatus::ALL
            .into_iter()
            .filter(|status| status.can_become(finish.status))
            .map(JobStatus::as_str)
            .collect();
        let _existed: i64 = self
            .inner
            .scripts
            .end
            .key(keys.job(id))
            .arg(id)
            .arg(finish.status.as_str())
            .arg(result)
            .arg(now())
            .arg(keys.events())
            .arg(keys.queue_prefix())
            .arg(keys.inflight_prefix())
            .arg(from)
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        self.job(id).await
    }

    async fn wait_final(&self, id: &str, timeout: Duration) -> Result<JobRecord> {
        let events = self.events().await?;
        // Also runs when the caller drops this future (a client that hung up), so senders of
        // abandoned waits do not pile up for jobs that never end.
        let _forget = ForgetOnDrop { events, id };
        self.wait_until(events, id, Instant::now() + timeout).await
    }

    async fn run_job(
        &self,
        job: &Job,
        owner: Option<&str>,
        timeout: Duration,
    ) -> Result<JobRecord> {
        let deadline = Instant::now() + timeout;
        let events = self.events().await?;
        let _forget = ForgetOnDrop {
            events,
            id: &job.id,
        };
        // Registered before the job exists, so its end cannot be missed and no read is
        // needed until it is announced.
        let woken = events.register(&job.id);
        self.submit(job, owner, true).await?;
        if tokio::time::timeout_at(deadline, woken).await.is_err() {
            return self.job(&job.id).await;
        }
        self.wait_until(events, &job.id, deadline).await
    }

    async fn claim(
        &self,
        queue: &str,
        worker: &str,
        lease: Duration,
        wait: Duration,
        most: usize,
    ) -> Result<Vec<Claimed>> {
        let jobs = self.claim_marked(queue, worker, lease, "", most).await?;
        if !jobs.is_empty() {
            return Ok(jobs);
        }
        let deadline = Instant::now() + wait;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Ok(Vec::new());
            }
            let Some(id) = self.wait_for_id(queue, worker, remaining).await? else {
                return Ok(Vec::new());
            };
            let jobs = self.claim_marked(queue, worker, lease, &id, most).await?;
            if !jobs.is_empty() {
                return Ok(jobs);
            }
        }
    }

    async fn heartbeat(
        &self,
        worker: &str,
        lease: Duration,
        running: &[Attempt],
    ) -> Result<Vec<Attempt>> {
        let keys = self.keys();
        let mut script = self.inner.scripts.heartbeat.prepare_invoke();
        script
            .key(keys.workers())
            .key(keys.seen())
            .key(keys.inflight(worker))
            .arg(worker)
            .arg(millis(lease))
            .arg(keys.job_prefix())
            .arg(keys.queue_prefix());
        for attempt in running {
            script.arg(&attempt.id).arg(attempt.token);
        }
        let flat: Vec<(String, u64)> = script
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(flat
            .into_iter()
            .map(|(id, token)| Attempt { id, token })
            .collect())
    }

    async fn finish(&self, worker: &str, attempt: &Attempt, finish: Finish) -> Result<bool> {
        let id = attempt.id.as_str();
        let keys = self.keys();
        let result = serde_json::to_string(&finish.result).map_err(|e| Error::Corrupt {
            key: id.to_owned(),
            reason: e.to_string(),
        })?;
        let done: i64 = self
            .inner
            .scripts
            .finish
            .key(keys.job(id))
            .key(keys.inflight(worker))
            .arg(id)
            .arg(worker)
            .arg(finish.status.as_str())
            .arg(result)
            .arg(now())
            .arg(keys.events())
            .arg(attempt.token)
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(done == 1)
    }

    async fn queue_len(&self, queue: &str) -> Result<u64> {
        self.conn()
            .llen(self.keys().queue(queue))
            .await
            .map_err(|e| self.unavailable(e))
    }

    async fn register_runner(&self, runner: &RunnerRecord) -> Result<()> {
        let json = serde_json::json!({
            "queue": runner.queue,
            "access": runner.access.as_str(),
            "registered_at": runner.registered_at,
        })
        .to_string();
        let added: bool = self
            .conn()
            .hset_nx(self.keys().runners(), &runner.name, json)
            .await
            .map_err(|e| self.unavailable(e))?;
        if !added {
            return Err(Error::RunnerExists {
                name: runner.name.clone(),
            });
        }
        Ok(())
    }

    async fn runners(&self) -> Result<Vec<RunnerRecord>> {
        let all: HashMap<String, String> = self
            .conn()
            .hgetall(self.keys().runners())
            .await
            .map_err(|e| self.unavailable(e))?;
        let mut runners = all
            .into_iter()
            .map(|(name, json)| record::runner(name, &json))
            .collect::<Result<Vec<_>>>()?;
        runners.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(runners)
    }

    async fn unregister_runner(&self, name: &str) -> Result<()> {
        let removed: u64 = self
            .conn()
            .hdel(self.keys().runners(), name)
            .await
            .map_err(|e| self.unavailable(e))?;
        if removed == 0 {
            return Err(Error::RunnerNotFound {
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    async fn last_seen(&self, queue: &str) -> Result<Option<DateTime<Utc>>> {
        let millis: Option<i64> = self
            .conn()
            .hget(self.keys().seen(), queue)
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(millis.and_then(DateTime::from_timestamp_millis))
    }

    async fn job_counts(&self) -> Result<HashMap<JobStatus, u64>> {
        let keys = self.keys();
        let flat: Vec<(String, u64)> = self
            .inner
            .scripts
            .counts
            .key(keys.jobs())
            .arg(keys.job_prefix())
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        flat.into_iter()
            .map(|(status, count)| {
                let status = status.parse().map_err(|e| Error::Corrupt {
                    key: keys.jobs(),
                    reason: format!("{e}"),
                })?;
                Ok((status, count))
            })
            .collect()
    }

    async fn secret_grants(&self) -> Result<HashMap<String, String>> {
        self.conn()
            .hgetall(self.keys().secrets())
            .await
            .map_err(|e| self.unavailable(e))
    }

    async fn put_secret_grant(&self, hash: &str, grant: &str) -> Result<()> {
        let keys = self.keys();
        let () = redis::pipe()
            .atomic()
            .hset(keys.secrets(), hash, grant)
            .ignore()
            .publish(keys.events(), crate::events::SECRETS_CHANGED)
            .ignore()
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(())
    }

    async fn watch_secrets(&self) -> Result<tokio::sync::watch::Receiver<u64>> {
        Ok(self.events().await?.watch_secrets())
    }

    async fn reap_expired(&self) -> Result<Reaped> {
        let keys = self.keys();
        let lost = serde_json::json!({
            "error": "runner lost: it stopped renewing its lease while running the job"
        })
        .to_string();
        let timed_out = serde_json::json!({
            "error": "timed out: the job ran past its timeout and its runner did not end it"
        })
        .to_string();
        let (failed, requeued, timed_out): (u64, u64, u64) = self
            .inner
            .scripts
            .reap
            .key(keys.workers())
            .arg(keys.inflight_prefix())
            .arg(keys.job_prefix())
            .arg(keys.queue_prefix())
            .arg(now())
            .arg(lost)
            .arg(keys.events())
            .arg(timed_out)
            .arg(serde_json::json!({"error": "job stopped"}).to_string())
            .arg(
                serde_json::json!({
                    "error": format!(
                        "runner lost {MAX_RUNNER_LOSSES} times while running this job; \
                         it is not run again, whatever its retries"
                    )
                })
                .to_string(),
            )
            .arg(MAX_RUNNER_LOSSES)
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(Reaped {
            failed,
            requeued,
            timed_out,
        })
    }

    async fn health(&self) -> Result<()> {
        let pong: String = redis::cmd("PING")
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        if pong != "PONG" {
            return Err(Error::Unavailable {
                reason: format!("redis at {}: unexpected PING answer", self.inner.safe_url),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_leave_the_url_redactor() {
        assert_eq!(
            redact_url("redis://user:hunter2@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(redact_url("redis://:hunter2@host"), "redis://:***@host");
        assert_eq!(redact_url("redis://host:6379"), "redis://host:6379");
    }
}
