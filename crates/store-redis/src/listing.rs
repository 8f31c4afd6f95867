//! Listing jobs: newest first, through the indexes the scripts keep (by status, runner,
//! caller, context and owner), never by reading every job.

use std::collections::HashMap;

use hero_job::JobRecord;
use hero_store::{Error, JobFilter, Result};
use redis::AsyncCommands;

use crate::connection::RedisStore;
use crate::record;

/// Jobs read per pipeline when listing.
const LIST_CHUNK: usize = 1000;

impl RedisStore {
    /// Reads the smallest index the filter names newest first, page by page, checking every
    /// condition on the job hashes of each page (one pipeline), until `filter.limit` jobs
    /// match or the index ends. Several statuses and no other index: their status indexes,
    /// merged. No condition: the index of every job.
    pub(crate) async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobRecord>> {
        // `before` pins the top of the range: jobs of its millisecond with an id not below it
        // are skipped; a fixed top also keeps jobs created meanwhile from shifting the pages.
        let top = match &filter.before {
            Some(id) => Some((self.score(id).await?, id.as_str())),
            None => None,
        };
        let listed = self.list_below(filter, top).await?;
        Ok(listed.into_iter().map(|(_, record)| record).collect())
    }

    /// A job's score in the listing's indexes: its creation time in milliseconds.
    ///
    /// # Errors
    ///
    /// `JobNotFound` when it is not stored.
    pub(crate) async fn score(&self, id: &str) -> Result<i64> {
        let score: Option<i64> = self
            .conn()
            .zscore(self.keys().jobs(), id)
            .await
            .map_err(|e| self.unavailable(e))?;
        score.ok_or_else(|| Error::JobNotFound { id: id.to_owned() })
    }

    /// The jobs `filter` lists (its `before` aside) below `top` (a score and an id, as
    /// `before` gives), newest first, each with its score.
    pub(crate) async fn list_below(
        &self,
        filter: &JobFilter,
        top: Option<(i64, &str)>,
    ) -> Result<Vec<(i64, JobRecord)>> {
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
                let Some((id, score)) = cursors[i].entries.pop_front() else {
                    break;
                };
                if seen.insert(id.clone()) {
                    ids.push((id, score));
                }
            }
            if ids.is_empty() {
                break;
            }
            let mut pipe = redis::pipe();
            for (id, _) in &ids {
                pipe.hgetall(keys.job(id));
            }
            let hashes: Vec<HashMap<String, String>> = pipe
                .query_async(&mut conn)
                .await
                .map_err(|e| self.unavailable(e))?;
            for ((id, score), fields) in ids.iter().zip(hashes) {
                // A job deleted between the two reads is simply no longer listed.
                if let Some(record) = record::from_fields(id, fields)?
                    && filter.matches(&record)
                    && records.len() < filter.limit
                {
                    records.push((*score, record));
                }
            }
            if records.len() >= filter.limit {
                break;
            }
        }
        Ok(records)
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
        conn: &mut crate::link::Link,
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
