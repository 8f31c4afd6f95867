//! Watching every job change (`watch_jobs`) and reading the results a watcher must send.

use hero_job::JobResult;
use hero_store::{Error, Result, Watched};
use tokio::sync::broadcast;

use crate::connection::{COMMAND_TIMEOUT, RedisStore};

impl RedisStore {
    pub(crate) async fn watch_jobs(&self) -> Result<broadcast::Receiver<Watched>> {
        let events = self.events().await?;
        events
            .watch_jobs(COMMAND_TIMEOUT)
            .await
            .ok_or_else(|| Error::Unavailable {
                reason: format!(
                    "redis at {}: cannot subscribe to job changes",
                    self.inner.safe_url
                ),
            })
    }

    pub(crate) async fn results(&self, ids: &[String]) -> Result<Vec<Option<JobResult>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hget(self.keys().job(id), "result");
        }
        let raw: Vec<Option<String>> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        ids.iter()
            .zip(raw)
            .map(|(id, json)| {
                json.map(|json| {
                    serde_json::from_str(&json).map_err(|e| Error::Corrupt {
                        key: self.keys().job(id),
                        reason: format!("result json: {e}"),
                    })
                })
                .transpose()
            })
            .collect()
    }
}
