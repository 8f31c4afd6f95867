//! Counting jobs by status: the size of each status index (`idx:status:*`), which every
//! script that creates, changes the status of, deletes or expires a job keeps exact. One
//! `ZCARD` per status, so the count costs the same at a million jobs as at ten.

use std::collections::HashMap;

use hero_job::JobStatus;
use hero_store::Result;

use crate::connection::RedisStore;

impl RedisStore {
    /// The statuses that have jobs, with their number.
    pub(crate) async fn job_counts(&self) -> Result<HashMap<JobStatus, u64>> {
        let keys = self.keys();
        let mut pipe = redis::pipe();
        for status in JobStatus::ALL {
            pipe.zcard(keys.by_status(status.as_str()));
        }
        let sizes: Vec<u64> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(JobStatus::ALL
            .into_iter()
            .zip(sizes)
            .filter(|&(_, n)| n > 0)
            .collect())
    }
}
