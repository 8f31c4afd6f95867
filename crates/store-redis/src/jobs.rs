//! Jobs as records: creating, starting and submitting them, reading and listing them,
//! deleting, stopping and ending them.

use std::collections::HashMap;

use chrono::SecondsFormat;
use hero_job::{Job, JobRecord, JobStatus};
use hero_store::{Error, Finish, JobFilter, Result, StopOutcome};
use redis::AsyncCommands;

use crate::connection::RedisStore;
use crate::record;
use crate::scripts::now;

/// Jobs read per pipeline when listing.
const LIST_CHUNK: usize = 1000;

/// Jobs stored per script call by `submit_many`: each call blocks Redis for its length, so a
/// chunk stays short while a call still needs few round trips.
const SUBMIT_CHUNK: usize = 1000;

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

    pub(crate) async fn submit(&self, job: &Job, owner: Option<&str>, queue: bool) -> Result<()> {
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
            .arg(&job.caller_id)
            .arg(&job.context_id)
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        if created == 0 {
            return Err(Error::JobExists { id: job.id.clone() });
        }
        Ok(())
    }

    /// Stores `jobs` in chunks of [`SUBMIT_CHUNK`], one script call each. A call of several
    /// chunks checks every id first, so a taken id stores nothing, not the chunks before it.
    pub(crate) async fn submit_many(
        &self,
        jobs: &[Job],
        owner: Option<&str>,
        queue: bool,
    ) -> Result<()> {
        let mut seen = std::collections::HashSet::with_capacity(jobs.len());
        if let Some(twin) = jobs.iter().find(|job| !seen.insert(job.id.as_str())) {
            return Err(Error::JobExists {
                id: twin.id.clone(),
            });
        }
        let keys = self.keys();
        if jobs.len() > SUBMIT_CHUNK {
            let mut pipe = redis::pipe();
            for job in jobs {
                pipe.exists(keys.job(&job.id));
            }
            let taken: Vec<bool> = pipe
                .query_async(&mut self.conn())
                .await
                .map_err(|e| self.unavailable(e))?;
            if let Some(i) = taken.iter().position(|&taken| taken) {
                return Err(Error::JobExists {
                    id: jobs[i].id.clone(),
                });
            }
        }
        for chunk in jobs.chunks(SUBMIT_CHUNK) {
            let mut invocation = self.inner.scripts.submit_many.prepare_invoke();
            invocation
                .key(keys.jobs())
                .arg(if queue { "1" } else { "0" })
                .arg(owner.unwrap_or_default());
            for job in chunk {
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
                    .arg(&job.context_id);
            }
            let taken: usize = invocation
                .invoke_async(&mut self.conn())
                .await
                .map_err(|e| self.unavailable(e))?;
            if taken > 0 {
                return Err(Error::JobExists {
                    id: chunk[taken - 1].id.clone(),
                });
            }
        }
        Ok(())
    }

    pub(crate) async fn start_job(&self, id: &str, owner: Option<&str>) -> Result<()> {
        let keys = self.keys();
        let outcome: String = self
            .inner
            .scripts
            .start
            .key(keys.job(id))
            .arg(id)
            .arg(now())
            .arg(keys.queue_prefix())
            .arg(owner.unwrap_or_default())
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

    pub(crate) async fn job(&self, id: &str) -> Result<JobRecord> {
        let fields = self.fields(id).await?;
        Self::require(id, record::from_fields(id, fields)?)
    }

    /// Reads the smallest index the filter names newest first, page by page, checking every
    /// condition on the job hashes of each page (one pipeline), until `filter.limit` jobs
    /// match or the index ends. Several statuses and no other index: their status indexes,
    /// merged. No condition: the index of every job.
    pub(crate) async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobRecord>> {
        let keys = self.keys();
        let mut conn = self.conn();
        let mut singles = Vec::new();
        if let [status] = filter.status.as_slice() {
            singles.push(keys.by_status(status.as_str()));
        }
        if let Some(runner) = &filter.runner {
            singles.push(keys.by_runner(runner));
        }
        if let Some(caller) = &filter.caller_id {
            singles.push(keys.by_caller(caller));
        }
        if let Some(context) = &filter.context_id {
            singles.push(keys.by_context(context));
        }
        if let Some(owner) = &filter.owner {
            singles.push(keys.by_owner(owner));
        }
        let sources = if singles.len() > 1 {
            let mut pipe = redis::pipe();
            for key in &singles {
                pipe.zcard(key);
            }
            let sizes: Vec<u64> = pipe
                .query_async(&mut conn)
                .await
                .map_err(|e| self.unavailable(e))?;
            let smallest = (0..singles.len()).min_by_key(|&i| sizes[i]).unwrap_or(0);
            vec![singles.swap_remove(smallest)]
        } else if let Some(single) = singles.pop() {
            vec![single]
        } else if filter.status.is_empty() {
            vec![keys.jobs()]
        } else {
            let mut statuses = filter.status.clone();
            statuses.sort_by_key(|s| s.as_str());
            statuses.dedup();
            statuses
                .into_iter()
                .map(|status| keys.by_status(status.as_str()))
                .collect()
        };
        // `before` pins the top of the range: jobs of its millisecond with an id not below it
        // are skipped; a fixed top also keeps jobs created meanwhile from shifting the pages.
        let top = match &filter.before {
            Some(id) => {
                let score: Option<i64> = conn
                    .zscore(keys.jobs(), id)
                    .await
                    .map_err(|e| self.unavailable(e))?;
                let score = score.ok_or_else(|| Error::JobNotFound { id: id.clone() })?;
                Some((score, id.as_str()))
            }
            None => None,
        };
        let page = filter.limit.clamp(100, LIST_CHUNK);
        let mut cursors: Vec<Cursor> = sources
            .into_iter()
            .map(|key| Cursor::new(key, top))
            .collect();
        let mut records = Vec::with_capacity(filter.limit.min(LIST_CHUNK));
        let mut seen = std::collections::HashSet::new();
        loop {
            // The next ids in order across every source, newest first.
            let mut ids = Vec::with_capacity(page);
            while ids.len() < page {
                for cursor in &mut cursors {
                    cursor.fill(self, &mut conn, page).await?;
                }
                let newest = cursors
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| c.entries.front().map(|e| (i, e)))
                    .max_by(|(_, a), (_, b)| (a.1, &a.0).cmp(&(b.1, &b.0)))
                    .map(|(i, _)| i);
                let Some(i) = newest else { break };
                let Some((id, _)) = cursors[i].entries.pop_front() else {
                    break;
                };
                if seen.insert(id.clone()) {
                    ids.push(id);
                }
            }
            if ids.is_empty() {
                break;
            }
            let mut pipe = redis::pipe();
            for id in &ids {
                pipe.hgetall(keys.job(id));
            }
            let hashes: Vec<HashMap<String, String>> = pipe
                .query_async(&mut conn)
                .await
                .map_err(|e| self.unavailable(e))?;
            for (id, fields) in ids.iter().zip(hashes) {
                // A job deleted between the two reads is simply no longer listed.
                if let Some(record) = record::from_fields(id, fields)?
                    && filter.matches(&record)
                    && records.len() < filter.limit
                {
                    records.push(record);
                }
            }
            if records.len() >= filter.limit {
                break;
            }
        }
        Ok(records)
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

/// One index read newest first from a fixed top, a page at a time.
struct Cursor<'a> {
    key: String,
    /// Score and id of the `before` job: entries of its score with an id not below it are
    /// skipped.
    top: Option<(i64, &'a str)>,
    offset: usize,
    entries: std::collections::VecDeque<(String, i64)>,
    done: bool,
}

impl<'a> Cursor<'a> {
    fn new(key: String, top: Option<(i64, &'a str)>) -> Self {
        Self {
            key,
            top,
            offset: 0,
            entries: std::collections::VecDeque::new(),
            done: false,
        }
    }

    /// Reads the next page when the buffered one is used up.
    async fn fill(
        &mut self,
        store: &RedisStore,
        conn: &mut redis::aio::ConnectionManager,
        page: usize,
    ) -> Result<()> {
        while self.entries.is_empty() && !self.done {
            let max = self
                .top
                .map_or_else(|| "+inf".to_owned(), |(score, _)| score.to_string());
            let entries: Vec<(String, i64)> = redis::cmd("ZREVRANGEBYSCORE")
                .arg(&self.key)
                .arg(max)
                .arg("-inf")
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(self.offset)
                .arg(page)
                .query_async(conn)
                .await
                .map_err(|e| store.unavailable(e))?;
            self.done = entries.len() < page;
            self.offset += entries.len();
            let top = self.top;
            self.entries
                .extend(entries.into_iter().filter(|(id, score)| {
                    top.is_none_or(|(top, below)| *score < top || id.as_str() < below)
                }));
        }
        Ok(())
    }
}
