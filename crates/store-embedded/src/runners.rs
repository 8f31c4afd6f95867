//! Registered runners and when each queue was last seen.

use chrono::{DateTime, Utc};
use hero_store::{Error, Result, RunnerAccess, RunnerRecord};
use redb::ReadableTable;

use crate::db::{EmbeddedStore, to_json, unavailable};

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    queue: String,
    access: RunnerAccess,
    registered_at: DateTime<Utc>,
}

impl EmbeddedStore {
    pub(crate) async fn register_runner(&self, runner: &RunnerRecord) -> Result<()> {
        let runner = runner.clone();
        self.write(move |t, _, _| {
            if t.runners
                .get(runner.name.as_str())
                .map_err(unavailable)?
                .is_some()
            {
                return Err(Error::RunnerExists { name: runner.name });
            }
            let json = to_json(
                &runner.name,
                &Stored {
                    queue: runner.queue.clone(),
                    access: runner.access,
                    registered_at: runner.registered_at,
                },
            )?;
            t.runners
                .insert(runner.name.as_str(), json.as_str())
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn runners(&self) -> Result<Vec<RunnerRecord>> {
        self.read(|t, _| {
            let mut runners = Vec::new();
            for entry in t.runners.iter().map_err(unavailable)? {
                let (name, json) = entry.map_err(unavailable)?;
                let name = name.value().to_owned();
                let stored: Stored =
                    serde_json::from_str(json.value()).map_err(|e| Error::Corrupt {
                        key: name.clone(),
                        reason: format!("runner record: {e}"),
                    })?;
                runners.push(RunnerRecord {
                    name,
                    queue: stored.queue,
                    access: stored.access,
                    registered_at: stored.registered_at,
                });
            }
            Ok(runners)
        })
        .await
    }

    pub(crate) async fn unregister_runner(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.write(move |t, _, _| {
            if t.runners
                .remove(name.as_str())
                .map_err(unavailable)?
                .is_none()
            {
                return Err(Error::RunnerNotFound { name });
            }
            Ok(())
        })
        .await
    }

    pub(crate) async fn last_seen(&self, queue: &str) -> Result<Option<DateTime<Utc>>> {
        let queue = queue.to_owned();
        self.read(move |t, _| {
            Ok(t.seen
                .get(queue.as_str())
                .map_err(unavailable)?
                .and_then(|ms| DateTime::from_timestamp_millis(ms.value())))
        })
        .await
    }
}
