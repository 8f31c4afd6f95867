//! Claims with leases: moving queued jobs into a worker's in-flight list under a fresh
//! attempt token, renewing the lease, reporting an attempt's end, and reaping the claims
//! of workers whose lease expired (the same pass removes expired jobs: `retention.rs`).

use std::time::Duration;

use hero_job::Progress;
use hero_store::{
    Attempt, Claimed, Error, Finish, MAX_RUNNER_LOSSES, Reaped, Result, TIMEOUT_GRACE,
};
use redis::AsyncCommands;
use tokio::time::Instant;

use crate::connection::{COMMAND_TIMEOUT, RedisStore};
use crate::scripts::{millis, now};

impl RedisStore {
    pub(crate) async fn claim(
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

    async fn claim_marked(
        &self,
        queue: &str,
        worker: &str,
        lease: Duration,
        moved: &str,
        most: usize,
    ) -> Result<Vec<Claimed>> {
        let keys = self.keys();
        let claimed: Vec<(u64, String, String)> = self
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
        let mut jobs = Vec::with_capacity(claimed.len());
        for (token, json, id) in claimed {
            match serde_json::from_str(&json) {
                Ok(job) => jobs.push(Claimed { job, token }),
                // One unreadable job must not cost the batch: the others are marked running
                // and would sit unexecuted until taken back. It is failed under its own token
                // instead; should that report be lost, the worker's heartbeat takes the run
                // back, as it does any run it is not told of.
                Err(e) => {
                    self.fail_unreadable(worker, Attempt { id, token }, &e)
                        .await
                }
            }
        }
        Ok(jobs)
    }

    /// Reports a claimed job whose stored form cannot be read failed, under its own token.
    pub(crate) async fn fail_unreadable(
        &self,
        worker: &str,
        attempt: Attempt,
        error: &serde_json::Error,
    ) {
        let failed = Finish::failed(format!("the job cannot be read: {error}"));
        if let Err(error) = self.finish(worker, &attempt, failed).await {
            tracing::warn!(id = %attempt.id, %error, "could not fail an unreadable job");
        }
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
                    .target
                    .connect(&config)
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

    pub(crate) async fn heartbeat(
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
            .arg(keys.queue_prefix())
            .arg(now());
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

    pub(crate) async fn progress(
        &self,
        worker: &str,
        attempt: &Attempt,
        progress: &Progress,
    ) -> Result<bool> {
        let id = attempt.id.as_str();
        let json = serde_json::to_string(progress).map_err(|e| Error::Corrupt {
            key: id.to_owned(),
            reason: e.to_string(),
        })?;
        let done: i64 = self
            .inner
            .scripts
            .progress
            .key(self.keys().job(id))
            .arg(worker)
            .arg(attempt.token)
            .arg(json)
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(done == 1)
    }

    pub(crate) async fn reap_expired(&self) -> Result<Reaped> {
        Ok(self.reap_expired_ids().await?.0)
    }

    /// As [`reap_expired`](Self::reap_expired), with the ids of the jobs retention removed.
    pub(crate) async fn reap_expired_ids(&self) -> Result<(Reaped, Vec<String>)> {
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
        let expired = self.expire_due().await?;
        let reaped = Reaped {
            failed,
            requeued,
            timed_out,
            expired: expired.len() as u64,
        };
        Ok((reaped, expired))
    }
}
