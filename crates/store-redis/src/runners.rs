//! Runners as the store knows them: registering and unregistering them, listing them,
//! when a queue's workers were last seen, and how long a queue is.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hero_store::{Error, Result, RunnerRecord};
use redis::AsyncCommands;

use crate::connection::RedisStore;
use crate::record;
use crate::scheduled::WAKE;

impl RedisStore {
    pub(crate) async fn register_runner(&self, runner: &RunnerRecord) -> Result<()> {
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

    pub(crate) async fn runners(&self) -> Result<Vec<RunnerRecord>> {
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

    pub(crate) async fn unregister_runner(&self, name: &str) -> Result<()> {
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

    pub(crate) async fn last_seen(&self, queue: &str) -> Result<Option<DateTime<Utc>>> {
        let millis: Option<i64> = self
            .conn()
            .hget(self.keys().seen(), queue)
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(millis.and_then(DateTime::from_timestamp_millis))
    }

    pub(crate) async fn queue_len(&self, queue: &str) -> Result<u64> {
        let keys = self.keys();
        // A wake marker sits at the taking end of a list that was empty when a priority job
        // came (at most one: none is pushed onto a list that holds anything), so looking
        // at the last few entries finds it.
        let (listed, prioritized, marker): (u64, u64, Option<u64>) = redis::pipe()
            .llen(keys.queue(queue))
            .zcard(keys.priority_queue(queue))
            .cmd("LPOS")
            .arg(keys.queue(queue))
            .arg(WAKE)
            .arg("RANK")
            .arg(-1)
            .arg("MAXLEN")
            .arg(16)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok((listed + prioritized).saturating_sub(u64::from(marker.is_some())))
    }
}
