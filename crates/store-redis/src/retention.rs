//! Retention: the hash of how long finished jobs are kept, which the scripts that end jobs
//! read (so a runner on another host needs nothing more), and removing the jobs whose
//! retention has passed, a bounded batch per script call (`lua/expire.lua`).

use std::time::{Duration, Instant};

use hero_job::JobStatus;
use hero_store::{Result, Retention};

use crate::connection::RedisStore;
use crate::scripts::millis;

/// Expiry entries one `expire.lua` call takes: each call blocks Redis for its length, about
/// 6 ms for 500 jobs among a million on a busy two-core machine, so other clients wait at
/// most that long.
const EXPIRE_BATCH: usize = 500;

/// How long one reaping pass goes on removing a backlog before leaving the rest to the next
/// pass, so that a million due jobs never keep the reaper from its other work.
const EXPIRE_PASS: Duration = Duration::from_millis(500);

impl RedisStore {
    pub(crate) async fn put_retention(&self, retention: &Retention) -> Result<()> {
        let fields: Vec<(&str, u64)> =
            [JobStatus::Completed, JobStatus::Failed, JobStatus::Stopped]
                .into_iter()
                .filter_map(|status| Some((status.as_str(), millis(retention.of(status)?))))
                .collect();
        let () = redis::cmd("HSET")
            .arg(self.keys().retention())
            .arg(fields)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(())
    }

    /// Removes due jobs batch by batch until a batch is not full or [`EXPIRE_PASS`] is spent;
    /// returns how many jobs it removed.
    pub(crate) async fn expire_due(&self) -> Result<Vec<String>> {
        let keys = self.keys();
        let started = Instant::now();
        let mut removed = Vec::new();
        loop {
            let (taken, _, gone): (usize, u64, Vec<String>) = self
                .inner
                .scripts
                .expire
                .key(keys.expiry())
                .key(keys.jobs())
                .arg(keys.job_prefix())
                .arg(EXPIRE_BATCH)
                .invoke_async(&mut self.conn())
                .await
                .map_err(|e| self.unavailable(e))?;
            removed.extend(gone);
            if taken < EXPIRE_BATCH || started.elapsed() >= EXPIRE_PASS {
                return Ok(removed);
            }
        }
    }
}
