//! [`Schedule`]: a job created on every tick of a cron expression, as `schedules.create`
//! takes it and `schedules.list` returns it.

use chrono::{DateTime, Utc};
use hero_job::Job;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A schedule: the job it creates on every tick of its cron expression, in UTC.
///
/// To create one, give `name`, `cron` and `job`; the server fills in the rest, and ignores
/// those fields when they are sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Schedule {
    /// Unique among the schedules of the supervisor's store: 1 to 128 bytes of
    /// `[A-Za-z0-9_.:-]`, like a job id.
    pub name: String,
    /// When it ticks, in UTC: 5 fields (`minute hour day-of-month month day-of-week`) or 6
    /// (a `second` field first), e.g. `*/15 * * * *` or `0 30 9 * * MON-FRI`.
    pub cron: String,
    /// The job each tick creates, owned by the secret that created the schedule. It takes no
    /// id: each tick's job gets its own.
    pub job: Job,
    /// When the schedule was created. Set by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// The latest tick that created a job; absent before the first. Set by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tick: Option<DateTime<Utc>>,
    /// The next tick from now. Set by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_tick: Option<DateTime<Utc>>,
}

impl Schedule {
    /// A schedule named `name` creating `job` on every tick of `cron`.
    pub fn new(name: impl Into<String>, cron: impl Into<String>, job: Job) -> Self {
        Self {
            name: name.into(),
            cron: cron.into(),
            job,
            created_at: None,
            last_tick: None,
            next_tick: None,
        }
    }
}
