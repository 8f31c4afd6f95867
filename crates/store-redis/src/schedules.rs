//! Schedules: storing, listing and deleting them, and claiming each tick once
//! (`schedule_put.lua`, `schedule_delete.lua`, `tick.lua`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hero_job::Job;
use hero_store::{Error, Result, ScheduleRecord, TickClaim};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use crate::connection::RedisStore;

/// A schedule's JSON in the schedules hash, under its name. `last_tick` comes first:
/// `tick.lua` replaces it in place and leaves the rest as written.
#[derive(Serialize, Deserialize)]
struct Stored {
    last_tick: i64,
    seed: String,
    owner: Option<String>,
    cron: String,
    job: Job,
    created_at: DateTime<Utc>,
}

impl Stored {
    fn into_record(self, name: String) -> Result<ScheduleRecord> {
        let last_tick =
            DateTime::from_timestamp_millis(self.last_tick).ok_or_else(|| Error::Corrupt {
                key: name.clone(),
                reason: format!("last tick {} is out of range", self.last_tick),
            })?;
        Ok(ScheduleRecord {
            name,
            cron: self.cron,
            job: self.job,
            owner: self.owner,
            created_at: self.created_at,
            last_tick,
            seed: self.seed,
        })
    }
}

impl RedisStore {
    pub(crate) async fn put_schedule(&self, schedule: &ScheduleRecord, max: usize) -> Result<()> {
        let stored = Stored {
            last_tick: schedule.last_tick.timestamp_millis(),
            seed: schedule.seed.clone(),
            owner: schedule.owner.clone(),
            cron: schedule.cron.clone(),
            job: schedule.job.clone(),
            created_at: schedule.created_at,
        };
        let json = serde_json::to_string(&stored).map_err(|e| Error::Corrupt {
            key: schedule.name.clone(),
            reason: e.to_string(),
        })?;
        let stored: i64 = self
            .inner
            .scripts
            .schedule_put
            .key(self.keys().schedules())
            .arg(&schedule.name)
            .arg(json)
            .arg(max)
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        match stored {
            1 => Ok(()),
            0 => Err(Error::ScheduleExists {
                name: schedule.name.clone(),
            }),
            _ => Err(Error::TooManySchedules { max }),
        }
    }

    pub(crate) async fn schedules(&self) -> Result<Vec<ScheduleRecord>> {
        let all: HashMap<String, String> = self
            .conn()
            .hgetall(self.keys().schedules())
            .await
            .map_err(|e| self.unavailable(e))?;
        let mut schedules = all
            .into_iter()
            .map(|(name, json)| match serde_json::from_str::<Stored>(&json) {
                Ok(stored) => stored.into_record(name),
                Err(e) => Err(Error::Corrupt {
                    key: name,
                    reason: format!("schedule json: {e}"),
                }),
            })
            .collect::<Result<Vec<_>>>()?;
        schedules.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(schedules)
    }

    pub(crate) async fn delete_schedule(&self, name: &str, owner: Option<&str>) -> Result<()> {
        let deleted: i64 = self
            .inner
            .scripts
            .schedule_delete
            .key(self.keys().schedules())
            .arg(name)
            .arg(owner.unwrap_or_default())
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        if deleted == 0 {
            return Err(Error::ScheduleNotFound {
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    pub(crate) async fn claim_tick(
        &self,
        name: &str,
        seed: &str,
        tick: DateTime<Utc>,
    ) -> Result<TickClaim> {
        let answer: Vec<i64> = self
            .inner
            .scripts
            .tick
            .key(self.keys().schedules())
            .arg(name)
            .arg(seed)
            .arg(tick.timestamp_millis())
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        match answer.as_slice() {
            [1] => Ok(TickClaim::Claimed),
            [0, last] => Ok(TickClaim::Taken {
                last: DateTime::from_timestamp_millis(*last).unwrap_or(tick),
            }),
            _ => Ok(TickClaim::Gone),
        }
    }
}
