//! Why a job was refused.

/// A job that cannot be accepted as submitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field that must not be empty is empty.
    #[error("`{field}` must not be empty")]
    Missing {
        /// The field's wire name.
        field: &'static str,
    },
    /// A field is longer than its limit.
    #[error("`{field}` is {len} bytes, more than the limit of {max}")]
    TooLong {
        /// The field's wire name.
        field: &'static str,
        /// The submitted length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// A name holds a character outside `[A-Za-z0-9_.:-]`.
    #[error("`{field}` may hold only letters, digits and `_ . : -`")]
    BadName {
        /// The field's wire name.
        field: &'static str,
    },
    /// The timeout is zero or above the maximum.
    #[error("job timeout must be between 1 and {max} seconds, got {got}")]
    BadTimeout {
        /// The submitted timeout.
        got: u64,
        /// The largest timeout accepted.
        max: u64,
    },
    /// More retries than the maximum.
    #[error("job retries must be at most {max}, got {got}")]
    BadRetries {
        /// The submitted retries.
        got: u32,
        /// The most retries accepted.
        max: u32,
    },
    /// A scheduling field (`delay`, `run_at`, `priority`, `retry_backoff_secs`) is out of range
    /// or contradicts another.
    #[error("job schedule: {reason}")]
    BadSchedule {
        /// What is wrong with it.
        reason: String,
    },
    /// Too many environment variables, or one with a bad name.
    #[error("job env_vars: {reason}")]
    BadEnv {
        /// What is wrong with them.
        reason: String,
    },
}
