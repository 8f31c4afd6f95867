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
