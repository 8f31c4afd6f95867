//! The job as callers submit it and as `jobs.list` returns it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Error, Level};

/// Timeout, in seconds, of a job submitted without one.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// The largest timeout a job may ask for: one day.
pub const MAX_TIMEOUT_SECS: u64 = 86_400;

/// The most times a job may be run again: after losing its runner, and after an error or a
/// timeout when it asks for that with `retry_on_error`.
pub const MAX_RETRIES: u32 = 10;

/// The longest a job may be delayed, by `delay` or by `run_at` past its creation: one year.
pub const MAX_DELAY_SECS: u64 = 365 * 86_400;

/// The highest priority; 0, the default, is the lowest.
pub const MAX_PRIORITY: u8 = 9;

/// Base of the backoff between retries after an error, when the job does not say.
pub const DEFAULT_RETRY_BACKOFF_SECS: u64 = 1;

/// The largest `retry_backoff_secs` a job may ask for: one hour.
pub const MAX_RETRY_BACKOFF_SECS: u64 = 3_600;

/// The longest wait before one retry after an error, whatever the base and the attempt: one
/// day. The store doubles the base per attempt and applies jitter below this cap.
pub const MAX_RETRY_DELAY_SECS: u64 = 86_400;

/// A unit of work for a runner.
///
/// The wire form is the contract's: every field but `payload`, `executor` and `runner` may be
/// omitted on submit. An empty `id` asks the supervisor to assign a UUID v4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Job {
    /// Unique id; empty until assigned.
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// Who submitted the job, for the caller's own bookkeeping.
    #[serde(default, deserialize_with = "null_as_default")]
    pub caller_id: String,
    /// The context the job runs in; runners scope stored data by it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub context_id: String,
    /// What the runner executes, e.g. a Rhai script.
    pub payload: String,
    /// The kind of runner the payload is meant for, e.g. `osis`.
    pub executor: String,
    /// The runner (queue) name that executes the job.
    pub runner: String,
    /// Seconds the job may run before it is interrupted and failed.
    #[serde(
        default = "default_timeout",
        deserialize_with = "null_as_default_timeout"
    )]
    #[schemars(range(min = 1, max = 86_400))]
    pub timeout: u64,
    /// Environment visible to the job.
    #[serde(default, deserialize_with = "null_as_default")]
    pub env_vars: BTreeMap<String, String>,
    /// Times the job goes back to its queue when its runner is lost while running it (the
    /// runner died or stopped renewing its lease). 0, the default, fails it as "runner lost":
    /// a job that is not idempotent must not run twice unasked. Whatever this says, a job
    /// whose runner is lost twice while running it fails: it may be what kills its runner.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_zero"
    )]
    #[schemars(range(max = 10))]
    pub retries: u32,
    /// Seconds from its creation before the job may run; it waits as `scheduled` meanwhile.
    /// At most [`MAX_DELAY_SECS`]; not with `run_at`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(max = 31_536_000))]
    pub delay: Option<u64>,
    /// When the job may run (RFC 3339); a time already past runs it now. At most
    /// [`MAX_DELAY_SECS`] after its creation; not with `delay`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub run_at: Option<DateTime<Utc>>,
    /// 0–9: within its runner's queue a job of a higher priority runs first; jobs of one
    /// priority run in the order they were queued. Default 0.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_zero_u8"
    )]
    #[schemars(range(max = 9))]
    pub priority: u8,
    /// When true, a run that fails (an error or a timeout) is retried while `retries` allow,
    /// after a backoff: see `retry_backoff_secs`. Default false.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub retry_on_error: bool,
    /// Base of the backoff before a retry after an error, in seconds: the n-th retry waits
    /// between half and all of `base × 2^(n-1)`, at most [`MAX_RETRY_DELAY_SECS`]. 0–3600,
    /// default 1.
    #[serde(
        default = "default_backoff",
        deserialize_with = "null_as_default_backoff",
        skip_serializing_if = "is_default_backoff"
    )]
    #[schemars(range(max = 3_600))]
    pub retry_backoff_secs: u64,
    /// The level of the secret that submitted the job. The supervisor sets it, overwriting
    /// whatever the client sent; a job stored without one counts as `user`. A runner whose
    /// access is `admin` refuses a job whose level is not `admin`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub level: Level,
    /// When the job was stored; set by the supervisor.
    #[serde(default = "Utc::now")]
    pub created_at: DateTime<Utc>,
    /// When the job last changed; set by the supervisor.
    #[serde(default = "Utc::now")]
    pub updated_at: DateTime<Utc>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero_u8(n: &u8) -> bool {
    *n == 0
}

fn default_backoff() -> u64 {
    DEFAULT_RETRY_BACKOFF_SECS
}

fn is_default_backoff(secs: &u64) -> bool {
    *secs == DEFAULT_RETRY_BACKOFF_SECS
}

fn null_as_default_backoff<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<u64, D::Error> {
    Option::<u64>::deserialize(deserializer).map(|t| t.unwrap_or(DEFAULT_RETRY_BACKOFF_SECS))
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECS
}

/// `null` means "not given", as an absent field does: clients in many languages send it.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

fn null_as_default_timeout<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<u64, D::Error> {
    Option::<u64>::deserialize(deserializer).map(|t| t.unwrap_or(DEFAULT_TIMEOUT_SECS))
}

/// Checks a job id given to read or change a job: 1–128 bytes of `[A-Za-z0-9_.:-]`.
///
/// # Errors
///
/// `Missing` for an empty id, `TooLong` or `BadName` otherwise, naming `field`.
pub fn validate_id(field: &'static str, id: &str) -> Result<(), Error> {
    check_name(field, id, &Limits::default(), false)
}

/// Size bounds a job must respect; every store and server applies the same ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest payload in bytes. Default 1 MiB.
    pub max_payload_bytes: usize,
    /// Longest id, caller, context, executor or runner name. Default 128.
    pub max_name_bytes: usize,
    /// Most environment variables per job. Default 128.
    pub max_env_vars: usize,
    /// Longest environment variable value in bytes. Default 32 KiB.
    pub max_env_value_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_payload_bytes: 1 << 20,
            max_name_bytes: 128,
            max_env_vars: 128,
            max_env_value_bytes: 32 << 10,
        }
    }
}

impl Job {
    /// Checks every field against `limits`.
    ///
    /// # Errors
    ///
    /// The first field that is missing, too long, badly formed or out of range.
    pub fn validate(&self, limits: &Limits) -> Result<(), Error> {
        check_name("id", &self.id, limits, true)?;
        check_name("caller_id", &self.caller_id, limits, true)?;
        check_name("context_id", &self.context_id, limits, true)?;
        check_name("executor", &self.executor, limits, false)?;
        check_name("runner", &self.runner, limits, false)?;
        if self.payload.is_empty() {
            return Err(Error::Missing { field: "payload" });
        }
        check_len("payload", &self.payload, limits.max_payload_bytes)?;
        if self.timeout == 0 || self.timeout > MAX_TIMEOUT_SECS {
            return Err(Error::BadTimeout {
                got: self.timeout,
                max: MAX_TIMEOUT_SECS,
            });
        }
        if self.retries > MAX_RETRIES {
            return Err(Error::BadRetries {
                got: self.retries,
                max: MAX_RETRIES,
            });
        }
        self.validate_schedule()?;
        self.validate_env(limits)
    }

    /// When the job may first run, in milliseconds since the epoch: `run_at`, or its
    /// creation plus `delay`; `None` when it may run at once.
    pub fn due_ms(&self) -> Option<i64> {
        match (self.delay, self.run_at) {
            (_, Some(at)) => Some(at.timestamp_millis()),
            (Some(delay), None) if delay > 0 => {
                let delay = i64::try_from(delay.saturating_mul(1000)).unwrap_or(i64::MAX);
                Some(self.created_at.timestamp_millis().saturating_add(delay))
            }
            _ => None,
        }
    }

    fn validate_schedule(&self) -> Result<(), Error> {
        let bad = |reason: String| Err(Error::BadSchedule { reason });
        if self.delay.is_some() && self.run_at.is_some() {
            return bad("give `delay` or `run_at`, not both".into());
        }
        if self.delay.is_some_and(|d| d > MAX_DELAY_SECS) {
            return bad(format!("`delay` must be at most {MAX_DELAY_SECS} seconds"));
        }
        if let Some(at) = self.run_at {
            let ahead = at.signed_duration_since(self.created_at).num_seconds();
            if ahead > i64::try_from(MAX_DELAY_SECS).unwrap_or(i64::MAX) {
                return bad(format!(
                    "`run_at` must be at most {MAX_DELAY_SECS} seconds after the job's creation"
                ));
            }
        }
        if self.priority > MAX_PRIORITY {
            return bad(format!("`priority` must be 0-{MAX_PRIORITY}"));
        }
        if self.retry_backoff_secs > MAX_RETRY_BACKOFF_SECS {
            return bad(format!(
                "`retry_backoff_secs` must be at most {MAX_RETRY_BACKOFF_SECS}"
            ));
        }
        Ok(())
    }

    fn validate_env(&self, limits: &Limits) -> Result<(), Error> {
        if self.env_vars.len() > limits.max_env_vars {
            return Err(Error::BadEnv {
                reason: format!(
                    "{} variables, more than the limit of {}",
                    self.env_vars.len(),
                    limits.max_env_vars
                ),
            });
        }
        for (name, value) in &self.env_vars {
            let well_formed = !name.is_empty()
                && name.len() <= limits.max_name_bytes
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !well_formed {
                return Err(Error::BadEnv {
                    reason: "names must be 1-128 letters, digits or `_`".into(),
                });
            }
            if value.len() > limits.max_env_value_bytes {
                return Err(Error::BadEnv {
                    reason: format!(
                        "value of `{name}` is longer than {} bytes",
                        limits.max_env_value_bytes
                    ),
                });
            }
        }
        Ok(())
    }
}

fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), Error> {
    if value.len() > max {
        return Err(Error::TooLong {
            field,
            len: value.len(),
            max,
        });
    }
    Ok(())
}

/// Names end up inside store keys and log lines, so they are kept to a safe alphabet.
fn check_name(
    field: &'static str,
    value: &str,
    limits: &Limits,
    may_be_empty: bool,
) -> Result<(), Error> {
    if value.is_empty() {
        return if may_be_empty {
            Ok(())
        } else {
            Err(Error::Missing { field })
        };
    }
    check_len(field, value, limits.max_name_bytes)?;
    if !is_name(value) {
        return Err(Error::BadName { field });
    }
    Ok(())
}

/// True when `value` holds only `[A-Za-z0-9_.:-]`, the alphabet of ids and runner names.
pub(crate) fn is_name(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        serde_json::from_value(serde_json::json!({
            "payload": "40 + 2", "executor": "osis", "runner": "osis_runner_1"
        }))
        .unwrap()
    }

    #[test]
    fn omitted_fields_take_their_defaults() {
        let job = job();
        assert_eq!(job.id, "");
        assert_eq!(job.timeout, DEFAULT_TIMEOUT_SECS);
        assert!(job.env_vars.is_empty());
        job.validate(&Limits::default()).unwrap();
    }

    #[test]
    fn missing_payload_is_refused_by_name() {
        let mut job = job();
        job.payload.clear();
        assert_eq!(
            job.validate(&Limits::default()),
            Err(Error::Missing { field: "payload" })
        );
    }

    #[test]
    fn runner_names_cannot_reach_into_other_keys() {
        let mut job = job();
        job.runner = "a b*".into();
        assert_eq!(
            job.validate(&Limits::default()),
            Err(Error::BadName { field: "runner" })
        );
    }

    #[test]
    fn oversized_payload_is_refused() {
        let mut job = job();
        job.payload = "x".repeat(11);
        let limits = Limits {
            max_payload_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            job.validate(&limits),
            Err(Error::TooLong {
                field: "payload",
                ..
            })
        ));
    }

    #[test]
    fn null_fields_mean_absent_ones() {
        let job: Job = serde_json::from_value(serde_json::json!({
            "id": null, "caller_id": null, "context_id": null, "timeout": null,
            "env_vars": null, "payload": "1", "executor": "osis", "runner": "r"
        }))
        .unwrap();
        assert_eq!(job.id, "");
        assert_eq!(job.timeout, DEFAULT_TIMEOUT_SECS);
        job.validate(&Limits::default()).unwrap();
    }

    #[test]
    fn ids_for_reads_are_checked() {
        assert!(validate_id("job_id", "a-b_c.1:2").is_ok());
        assert_eq!(
            validate_id("job_id", ""),
            Err(Error::Missing { field: "job_id" })
        );
        assert!(validate_id("job_id", "a b").is_err());
        assert!(validate_id("job_id", &"x".repeat(129)).is_err());
    }

    #[test]
    fn zero_timeout_is_refused() {
        let mut job = job();
        job.timeout = 0;
        assert!(matches!(
            job.validate(&Limits::default()),
            Err(Error::BadTimeout { got: 0, .. })
        ));
    }

    #[test]
    fn retries_default_to_none_and_are_bounded() {
        let mut job = job();
        assert_eq!(job.retries, 0);
        let wire = serde_json::to_value(&job).unwrap();
        assert!(
            wire.get("retries").is_none(),
            "a job without retries keeps the contract's wire form"
        );
        job.retries = MAX_RETRIES;
        job.validate(&Limits::default()).unwrap();
        assert_eq!(serde_json::to_value(&job).unwrap()["retries"], MAX_RETRIES);
        job.retries = MAX_RETRIES + 1;
        assert!(matches!(
            job.validate(&Limits::default()),
            Err(Error::BadRetries { got: 11, max: 10 })
        ));
    }

    #[test]
    fn a_job_stored_without_a_level_counts_as_a_users() {
        assert_eq!(job().level, Level::User);
        let admin: Job = serde_json::from_value(serde_json::json!({
            "payload": "1", "executor": "osis", "runner": "r", "level": "admin"
        }))
        .unwrap();
        assert_eq!(admin.level, Level::Admin);
        assert_eq!(serde_json::to_value(&admin).unwrap()["level"], "admin");
        let unknown = serde_json::from_value::<Job>(serde_json::json!({
            "payload": "1", "executor": "osis", "runner": "r", "level": "root"
        }));
        assert!(unknown.is_err(), "a level is user or admin");
    }

    #[test]
    fn delay_and_run_at_together_are_refused() {
        let mut job = job();
        job.delay = Some(5);
        job.run_at = Some(job.created_at);
        assert!(matches!(
            job.validate(&Limits::default()),
            Err(Error::BadSchedule { .. })
        ));
    }

    #[test]
    fn scheduling_fields_are_bounded() {
        let cases: [fn(&mut Job); 4] = [
            |j| j.priority = MAX_PRIORITY + 1,
            |j| j.delay = Some(MAX_DELAY_SECS + 1),
            |j| j.retry_backoff_secs = MAX_RETRY_BACKOFF_SECS + 1,
            |j| j.run_at = Some(j.created_at + chrono::Duration::days(400)),
        ];
        for change in cases {
            let mut job = job();
            change(&mut job);
            assert!(matches!(
                job.validate(&Limits::default()),
                Err(Error::BadSchedule { .. })
            ));
        }
    }

    #[test]
    fn a_job_without_scheduling_fields_keeps_its_wire_form() {
        let wire = serde_json::to_value(job()).unwrap();
        for field in [
            "delay",
            "run_at",
            "priority",
            "retry_on_error",
            "retry_backoff_secs",
        ] {
            assert!(wire.get(field).is_none(), "{field}");
        }
        assert_eq!(job().due_ms(), None);
        assert_eq!(job().retry_backoff_secs, DEFAULT_RETRY_BACKOFF_SECS);
    }

    #[test]
    fn a_delay_counts_from_the_jobs_creation() {
        let mut job = job();
        job.delay = Some(3);
        assert_eq!(job.due_ms(), Some(job.created_at.timestamp_millis() + 3000));
    }

    #[test]
    fn env_var_names_are_checked() {
        let mut job = job();
        job.env_vars.insert("BAD NAME".into(), "v".into());
        assert!(matches!(
            job.validate(&Limits::default()),
            Err(Error::BadEnv { .. })
        ));
    }
}
