//! Jobs as records: creating, starting and submitting them, reading them, deleting,
//! stopping and ending them. Listing them is `listing.rs`.

use std::borrow::Borrow;
use std::collections::HashMap;

use chrono::SecondsFormat;
use hero_job::{Job, JobRecord, JobStatus};
use hero_store::{Error, Finish, Result, StopOutcome};
use redis::AsyncCommands;

use crate::connection::RedisStore;
use crate::record;
use crate::scripts::now;

/// The job's due time (ms) as the scripts take it: empty when it may run at once.
fn due(job: &Job) -> String {
    job.due_ms().map(|ms| ms.to_string()).unwrap_or_default()
}

/// Jobs stored per script call by `submit_many`: each call blocks Redis for its length, so a
/// chunk stays short while a call still needs few round trips.
const SUBMIT_CHUNK: usize = 1000;

/// Refuses a batch naming one id twice, as taken: the second would meet the first.
pub(crate) fn refuse_twins<J: Borrow<Job>>(jobs: &[J]) -> Result<()> {
    let mut seen = std::collections::HashSet::with_capacity(jobs.len());
    match jobs
        .iter()
        .map(Borrow::<Job>::borrow)
        .find(|job| !seen.insert(job.id.as_str()))
    {
        Some(twin) => Err(Error::JobExists {
            id: twin.id.clone(),
        }),
        None => Ok(()),
    }
}

impl RedisStore {
    async fn fields(&self, id: &str) -> Result<HashMap<String, String>> {
        self.conn()
            .hgetall(self.keys().job(id))
            .await
            .map_err(|e| self.unavailable(e))
    }

    fn require(id: &str, record: Option<JobRecord>) -> Result<JobRecord> {
        record.ok_or_else(|| Error::JobNotFound { id: id.to_owned() })
    }

    /// The first of `ids` whose job is stored, in one round trip.
    pub(crate) async fn first_stored(&self, ids: &[&str]) -> Result<Option<String>> {
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.exists(self.keys().job(id));
        }
        let taken: Vec<bool> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(ids
            .iter()
            .zip(taken)
            .find_map(|(id, taken)| taken.then(|| (*id).to_owned())))
    }

    pub(crate) async fn submit(&self, job: &Job, owner: Option<&str>, queue: bool) -> Result<()> {
        self.store_job(job, owner, queue, false).await
    }

    /// Stores and queues `job` for a caller that waits for its end (`job.run`): its end is
    /// announced with its outcome on the results channel (see `events.rs`).
    pub(crate) async fn submit_waited(&self, job: &Job, owner: Option<&str>) -> Result<()> {
        self.store_job(job, owner, true, true).await
    }

    async fn store_job(
        &self,
        job: &Job,
        owner: Option<&str>,
        queue: bool,
        waited: bool,
    ) -> Result<()> {
        let json = serde_json::to_string(job).map_err(|e| Error::Corrupt {
            key: job.id.clone(),
            reason: e.to_string(),
        })?;
        let keys = self.keys();
        let mut invocation = self.inner.scripts.submit.prepare_invoke();
        invocation
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
            .arg(&job.caller_id)
            .arg(&job.context_id)
            .arg(job.priority)
            .arg(due(job))
            .arg(if job.retry_on_error { "1" } else { "0" })
            .arg(job.retry_backoff_secs)
            .arg(if waited { "1" } else { "0" });
        let created: i64 = self.submit_script(&invocation).await?;
        if created == 0 {
            return Err(Error::JobExists { id: job.id.clone() });
        }
        Ok(())
    }

    /// Stores `jobs` in chunks of [`SUBMIT_CHUNK`], one script call each. A call of several
    /// chunks checks every id first, so a taken id stores nothing, not the chunks before it.
    pub(crate) async fn submit_many<J: Borrow<Job>>(
        &self,
        jobs: &[J],
        owner: Option<&str>,
        queue: bool,
    ) -> Result<()> {
        refuse_twins(jobs)?;
        let keys = self.keys();
        if jobs.len() > SUBMIT_CHUNK {
            let ids: Vec<&str> = jobs
                .iter()
                .map(|job| Borrow::<Job>::borrow(job).id.as_str())
                .collect();
            if let Some(id) = self.first_stored(&ids).await? {
                return Err(Error::JobExists { id });
            }
        }
        for chunk in jobs.chunks(SUBMIT_CHUNK) {
            let mut invocation = self.inner.scripts.submit_many.prepare_invoke();
            invocation
                .key(keys.jobs())
                .arg(if queue { "1" } else { "0" })
                .arg(owner.unwrap_or_default());
            for job in chunk {
                let job: &Job = job.borrow();
                let json = serde_json::to_string(job).map_err(|e| Error::Corrupt {
                    key: job.id.clone(),
                    reason: e.to_string(),
                })?;
                invocation
                    .key(keys.job(&job.id))
                    .key(keys.queue(&job.runner))
                    .arg(&job.id)
                    .arg(json)
                    .arg(&job.runner)
                    .arg(job.created_at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
                    .arg(job.created_at.timestamp_millis())
                    .arg(job.timeout)
                    .arg(job.retries)
                    .arg(&job.caller_id)
                    .arg(&job.context_id)
                    .arg(job.priority)
                    .arg(due(job))
                    .arg(if job.retry_on_error { "1" } else { "0" })
                    .arg(job.retry_backoff_secs);
            }
            let taken: usize = self.submit_script(&invocation).await?;
            if taken > 0 {
                return Err(Error::JobExists {
                    id: Borrow::<Job>::borrow(&chunk[taken - 1]).id.clone(),
                });
            }
        }
        Ok(())
    }

    pub(crate) async fn start_job(&self, id: &str, owner: Option<&str>) -> Result<()> {
        let keys = self.keys();
        let mut invocation = self.inner.scripts.start.prepare_invoke();
        invocation
            .key(keys.job(id))
            .arg(id)
            .arg(now())
            .arg(keys.queue_prefix())
            .arg(owner.unwrap_or_default());
        let outcome: String = self.submit_script(&invocation).await?;
        queued_outcome(id, &outcome, "started")
    }

    pub(crate) async fn retry_job(&self, id: &str, owner: Option<&str>) -> Result<()> {
        let outcome: String = self
            .inner
            .scripts
            .retry
            .key(self.keys().job(id))
            .arg(id)
            .arg(now())
            .arg(owner.unwrap_or_default())
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        queued_outcome(id, &outcome, "retried")
    }

    pub(crate) async fn job(&self, id: &str) -> Result<JobRecord> {
        let fields = self.fields(id).await?;
        Self::require(id, record::from_fields(id, fields)?)
    }

    pub(crate) async fn delete_job(&self, id: &str, owner: Option<&str>) -> Result<()> {
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
            .arg(owner.unwrap_or_default())
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        if deleted == 0 {
            return Err(Error::JobNotFound { id: id.to_owned() });
        }
        Ok(())
    }

    pub(crate) async fn stop_job(&self, id: &str, owner: Option<&str>) -> Result<StopOutcome> {
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
            .arg(owner.unwrap_or_default())
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

    pub(crate) async fn end_job(&self, id: &str, finish: Finish) -> Result<JobRecord> {
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
}

/// What `start.lua` or `retry.lua` answered about queuing job `id`: `ok`, `missing` (also
/// another owner's), or the status that kept it from being `action`.
fn queued_outcome(id: &str, outcome: &str, action: &'static str) -> Result<()> {
    match outcome {
        "ok" => Ok(()),
        "missing" => Err(Error::JobNotFound { id: id.to_owned() }),
        status => Err(Error::WrongState {
            id: id.to_owned(),
            status: status.parse().map_err(|e| Error::Corrupt {
                key: id.to_owned(),
                reason: format!("{e}"),
            })?,
            action,
        }),
    }
}
