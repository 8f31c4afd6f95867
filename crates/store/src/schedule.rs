//! [`ScheduleRecord`]: a job template created on every tick of a cron expression, as a store
//! keeps it, and [`TickClaim`], what claiming one tick of it did.

use chrono::{DateTime, Utc};
use hero_job::Job;

/// A schedule as stored: its cron expression, the job each tick creates, who owns it, and the
/// last tick a supervisor claimed.
///
/// The store does not read the cron expression: supervisors compute the ticks, and the store
/// makes sure each tick is claimed once ([`Store::claim_tick`](crate::Store::claim_tick)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRecord {
    /// Its name, unique in the store.
    pub name: String,
    /// The cron expression (5 or 6 fields, UTC), as given.
    pub cron: String,
    /// The job each tick creates: every field but its id and timestamps, which each tick sets.
    pub job: Job,
    /// Opaque to the store, like a job's owner: the hash of the secret that created it.
    pub owner: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The latest tick claimed, or `created_at` before the first: only later ticks are due.
    /// Kept to the millisecond.
    pub last_tick: DateTime<Utc>,
    /// Random, chosen at creation: the ids of the jobs its ticks create derive from it, so
    /// they cannot be guessed, and a schedule deleted and created again under the same name
    /// is told apart from the old one.
    pub seed: String,
}

impl ScheduleRecord {
    /// The id of the job its `tick` creates: a UUID (version 4 in form) drawn from the
    /// schedule's secret seed and the tick, so every process creating the job of one tick uses
    /// the same id (a second store of it is refused as existing), while nobody without the
    /// store can guess it.
    pub fn job_id(&self, tick: DateTime<Utc>) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::new()
            .chain_update(self.seed.as_bytes())
            .chain_update(b"\n")
            .chain_update(tick.timestamp_millis().to_be_bytes())
            .finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }
}

/// What [`Store::claim_tick`](crate::Store::claim_tick) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickClaim {
    /// The tick was the schedule's next: it is now its last tick, claimed by this call.
    Claimed,
    /// A tick at or after this one was already claimed; `last` is the schedule's last tick.
    Taken {
        /// The schedule's last tick.
        last: DateTime<Utc>,
    },
    /// No schedule of this name and seed: it was deleted (and maybe created again).
    Gone,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(seed: &str) -> ScheduleRecord {
        let at = Utc::now();
        ScheduleRecord {
            name: "s".into(),
            cron: "* * * * *".into(),
            job: hero_job::JobBuilder::new()
                .payload("1")
                .executor("e")
                .runner("r")
                .build()
                .expect("a valid job"),
            owner: None,
            created_at: at,
            last_tick: at,
            seed: seed.into(),
        }
    }

    #[test]
    fn a_ticks_job_id_is_the_same_for_every_process_and_differs_by_tick_and_seed() {
        let tick: DateTime<Utc> = "2026-01-01T00:00:01Z".parse().expect("a time");
        let id = schedule("seed").job_id(tick);
        assert_eq!(id, schedule("seed").job_id(tick));
        assert_ne!(
            id,
            schedule("seed").job_id(tick + chrono::Duration::seconds(1))
        );
        assert_ne!(id, schedule("other").job_id(tick));
        let parsed = uuid::Uuid::parse_str(&id).expect("a uuid");
        assert_eq!(parsed.get_version_num(), 4);
    }
}
