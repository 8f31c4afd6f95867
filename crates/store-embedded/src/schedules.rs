//! Cron schedules: stored under the limit in one transaction, deleted by their owner, and
//! each tick claimed once by moving the last tick forward.

use chrono::{DateTime, Utc};
use hero_job::Job;
use hero_store::{Error, Result, ScheduleRecord, TickClaim};
use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

use crate::db::{EmbeddedStore, to_json, unavailable};

#[derive(Serialize, Deserialize)]
struct Stored {
    last_tick: i64,
    seed: String,
    owner: Option<String>,
    cron: String,
    job: Job,
    created_at: DateTime<Utc>,
}

fn read(name: &str, json: &str) -> Result<Stored> {
    serde_json::from_str(json).map_err(|e| Error::Corrupt {
        key: name.to_owned(),
        reason: format!("schedule json: {e}"),
    })
}

impl EmbeddedStore {
    pub(crate) async fn put_schedule(&self, schedule: &ScheduleRecord, max: usize) -> Result<()> {
        let name = schedule.name.clone();
        let json = to_json(
            &name,
            &Stored {
                last_tick: schedule.last_tick.timestamp_millis(),
                seed: schedule.seed.clone(),
                owner: schedule.owner.clone(),
                cron: schedule.cron.clone(),
                job: schedule.job.clone(),
                created_at: schedule.created_at,
            },
        )?;
        self.write(move |t, _, _| {
            if t.schedules
                .get(name.as_str())
                .map_err(unavailable)?
                .is_some()
            {
                return Err(Error::ScheduleExists { name });
            }
            if t.schedules.len().map_err(unavailable)? >= max as u64 {
                return Err(Error::TooManySchedules { max });
            }
            t.schedules
                .insert(name.as_str(), json.as_str())
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn schedules(&self) -> Result<Vec<ScheduleRecord>> {
        self.read(|t, _| {
            let mut all = Vec::new();
            for entry in t.schedules.iter().map_err(unavailable)? {
                let (name, json) = entry.map_err(unavailable)?;
                let name = name.value().to_owned();
                let stored = read(&name, json.value())?;
                let last_tick =
                    DateTime::from_timestamp_millis(stored.last_tick).ok_or_else(|| {
                        Error::Corrupt {
                            key: name.clone(),
                            reason: format!("last tick {} is out of range", stored.last_tick),
                        }
                    })?;
                all.push(ScheduleRecord {
                    name,
                    cron: stored.cron,
                    job: stored.job,
                    owner: stored.owner,
                    created_at: stored.created_at,
                    last_tick,
                    seed: stored.seed,
                });
            }
            Ok(all)
        })
        .await
    }

    pub(crate) async fn delete_schedule(&self, name: &str, owner: Option<&str>) -> Result<()> {
        let name = name.to_owned();
        let owner = owner.map(str::to_owned);
        self.write(move |t, _, _| {
            let gone = || Error::ScheduleNotFound { name: name.clone() };
            let json = t
                .schedules
                .get(name.as_str())
                .map_err(unavailable)?
                .map(|json| json.value().to_owned())
                .ok_or_else(gone)?;
            if let Some(owner) = &owner
                && read(&name, &json)?.owner.as_ref() != Some(owner)
            {
                return Err(gone());
            }
            t.schedules.remove(name.as_str()).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn claim_tick(
        &self,
        name: &str,
        seed: &str,
        tick: DateTime<Utc>,
    ) -> Result<TickClaim> {
        let (name, seed) = (name.to_owned(), seed.to_owned());
        let tick_ms = tick.timestamp_millis();
        self.write(move |t, _, _| {
            let Some(json) = t
                .schedules
                .get(name.as_str())
                .map_err(unavailable)?
                .map(|json| json.value().to_owned())
            else {
                return Ok(TickClaim::Gone);
            };
            let mut stored = read(&name, &json)?;
            if stored.seed != seed {
                return Ok(TickClaim::Gone);
            }
            if stored.last_tick >= tick_ms {
                return Ok(TickClaim::Taken {
                    last: DateTime::from_timestamp_millis(stored.last_tick).unwrap_or(tick),
                });
            }
            stored.last_tick = tick_ms;
            let json = to_json(&name, &stored)?;
            t.schedules
                .insert(name.as_str(), json.as_str())
                .map_err(unavailable)?;
            Ok(TickClaim::Claimed)
        })
        .await
    }
}
