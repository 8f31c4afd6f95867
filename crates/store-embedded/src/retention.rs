//! Retention: how long finished jobs are kept (read by every transaction that ends a job),
//! and removing the jobs whose retention has passed, a bounded batch per transaction.

use std::time::{Duration, Instant};

use hero_job::JobStatus;
use hero_store::{Result, Retention};
use redb::ReadableTable;

use crate::db::{EmbeddedStore, unavailable};
use crate::jobs::remove_traces;
use crate::tables::meta;

/// Expiry entries one transaction takes, so other operations wait at most that long.
const EXPIRE_BATCH: usize = 500;

/// How long one reaping pass goes on removing a backlog before leaving the rest to the next.
const EXPIRE_PASS: Duration = Duration::from_millis(500);

impl EmbeddedStore {
    pub(crate) async fn put_retention(&self, retention: &Retention) -> Result<()> {
        let retention = *retention;
        self.write(move |t, _, _| {
            for status in [JobStatus::Completed, JobStatus::Failed, JobStatus::Stopped] {
                if let Some(keep) = retention.of(status) {
                    let ms = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX);
                    t.numbers
                        .insert(format!("retention:{}", status.as_str()).as_str(), ms)
                        .map_err(unavailable)?;
                }
            }
            Ok(())
        })
        .await
    }

    /// Removes due jobs batch by batch until a batch is not full or [`EXPIRE_PASS`] is spent;
    /// returns how many jobs it removed.
    pub(crate) async fn expire_due(&self) -> Result<u64> {
        let started = Instant::now();
        let mut removed = 0;
        loop {
            let (taken, gone) = self
                .write(|t, _, now| {
                    let due: Vec<(i64, String)> = t
                        .expiry
                        .range(..=(now.ms, "\u{10FFFF}"))
                        .map_err(unavailable)?
                        .take(EXPIRE_BATCH)
                        .map(|entry| {
                            entry.map_err(unavailable).map(|(key, _)| {
                                let (at, id) = key.value();
                                (at, id.to_owned())
                            })
                        })
                        .collect::<Result<_>>()?;
                    let mut gone = 0u64;
                    for (at, id) in &due {
                        t.expiry.remove((*at, id.as_str())).map_err(unavailable)?;
                        // Retention never removes a job that is not final, nor one whose entry
                        // is not this one (its id was deleted and used again).
                        if let Some(m) = meta(&t.meta, id)?
                            && m.status.is_final()
                            && m.expires_at == Some(*at)
                        {
                            remove_traces(t, id, &m)?;
                            gone += 1;
                        }
                    }
                    Ok((due.len(), gone))
                })
                .await?;
            removed += gone;
            if taken < EXPIRE_BATCH || started.elapsed() >= EXPIRE_PASS {
                return Ok(removed);
            }
        }
    }
}
