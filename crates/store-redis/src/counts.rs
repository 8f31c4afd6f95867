//! Counting jobs by status in one script run (`lua/counts.lua`).

use std::collections::HashMap;

use hero_job::JobStatus;
use hero_store::{Error, Result};

use crate::connection::RedisStore;

impl RedisStore {
    pub(crate) async fn job_counts(&self) -> Result<HashMap<JobStatus, u64>> {
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
}
