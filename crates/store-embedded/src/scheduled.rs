//! Delayed jobs: queuing the `scheduled` jobs whose time has come, a bounded batch per
//! call, and telling the promoters when a job may have become the earliest.

use hero_job::{EventStatus, JobStatus};
use hero_store::{Promoted, Result};
use redb::ReadableTable;

use crate::db::{EmbeddedStore, unavailable};
use crate::tables::meta;
use crate::transitions::{enqueue, put_meta, set_status};

/// Jobs queued per call.
const PROMOTE_CHUNK: usize = 500;

impl EmbeddedStore {
    pub(crate) async fn promote_due(&self) -> Result<Promoted> {
        self.write(|t, fx, now| {
            let due: Vec<(i64, String)> = t
                .scheduled
                .range(..=(now.ms, "\u{10FFFF}"))
                .map_err(unavailable)?
                .take(PROMOTE_CHUNK)
                .map(|entry| {
                    entry.map_err(unavailable).map(|(key, _)| {
                        let (at, id) = key.value();
                        (at, id.to_owned())
                    })
                })
                .collect::<Result<_>>()?;
            let mut queued = 0;
            for (at, id) in due {
                t.scheduled.remove((at, id.as_str())).map_err(unavailable)?;
                let Some(mut m) = meta(&t.meta, &id)? else {
                    continue;
                };
                if m.status != JobStatus::Scheduled {
                    continue;
                }
                m.scheduled_at = None;
                set_status(t, &id, &mut m, JobStatus::Queued)?;
                m.updated_at = now.at;
                m.queued_ms = Some(now.ms);
                enqueue(t, fx, &id, &mut m, false)?;
                fx.change(&id, &m, EventStatus::Queued, now.at, None);
                put_meta(t, &id, &m)?;
                queued += 1;
            }
            let next_due = t
                .scheduled
                .first()
                .map_err(unavailable)?
                .and_then(|(key, _)| chrono::DateTime::from_timestamp_millis(key.value().0));
            Ok(Promoted { queued, next_due })
        })
        .await
    }
}
