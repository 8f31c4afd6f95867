//! Scheduled jobs: queuing those whose time has come (`promote.lua`). Jobs become
//! `scheduled` when submitted or started with a due time still to come, and when a failed run
//! backs off before a retry (`finish.lua`); the supervisor's promoter calls [`promote_due`]
//! when the earliest comes due.
//!
//! [`promote_due`]: RedisStore::promote_due

use chrono::DateTime;
use hero_store::{Promoted, Result};

use crate::connection::RedisStore;
use crate::scripts::now;

/// The entry the scripts push onto an empty priority-0 list when a job of a higher priority
/// is queued, so that a runner blocked on that list wakes and claims it. Not a job id (ids
/// never hold `!`); claims drop it.
pub(crate) const WAKE: &str = "!wake";

/// Jobs queued per `promote.lua` call: each call blocks Redis for its length.
const PROMOTE_CHUNK: usize = 500;

impl RedisStore {
    pub(crate) async fn promote_due(&self) -> Result<Promoted> {
        let keys = self.keys();
        let (queued, next): (u64, String) = self
            .inner
            .scripts
            .promote
            .key(keys.scheduled())
            .arg(keys.job_prefix())
            .arg(now())
            .arg(PROMOTE_CHUNK)
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        let next_due = next
            .parse::<f64>()
            .ok()
            .and_then(|ms| DateTime::from_timestamp_millis(ms as i64));
        Ok(Promoted { queued, next_due })
    }

    pub(crate) async fn watch_scheduled(&self) -> Result<tokio::sync::watch::Receiver<u64>> {
        Ok(self.events().await?.watch_scheduled())
    }
}
