//! What can go wrong in a store.

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No job with this id.
    #[error("job `{id}` not found")]
    JobNotFound {
        /// The id asked for.
        id: String,
    },
    /// A job with this id already exists.
    #[error("job `{id}` already exists")]
    JobExists {
        /// The id submitted.
        id: String,
    },
    /// A runner with this name is already registered.
    #[error("runner `{name}` is already registered")]
    RunnerExists {
        /// The name asked for.
        name: String,
    },
    /// No runner is registered with this name.
    #[error("runner `{name}` is not registered")]
    RunnerNotFound {
        /// The name asked for.
        name: String,
    },
    /// A schedule with this name already exists.
    #[error("schedule `{name}` already exists")]
    ScheduleExists {
        /// The name asked for.
        name: String,
    },
    /// No schedule has this name (or the caller does not own it).
    #[error("schedule `{name}` not found")]
    ScheduleNotFound {
        /// The name asked for.
        name: String,
    },
    /// The store holds as many schedules as it may.
    #[error("the store already holds {max} schedules, the most it may")]
    TooManySchedules {
        /// The limit.
        max: usize,
    },
    /// The job is not in a state that allows the operation.
    #[error("job `{id}` is {status}, so it cannot be {action}")]
    WrongState {
        /// The job's id.
        id: String,
        /// Its current status.
        status: hero_job::JobStatus,
        /// What was asked, e.g. `started`.
        action: &'static str,
    },
    /// The backend cannot be reached or refused the operation; retrying may help.
    #[error("store unavailable: {reason}")]
    Unavailable {
        /// What the backend said, without credentials.
        reason: String,
    },
    /// The write was made but no replica confirmed it in time, so a failover may still lose
    /// it (a store asked to wait for a replica before answering; see `durability` in
    /// `docs/configuration.md`). The write may well be kept: submitting the same job again
    /// may find it there.
    #[error("no replica confirmed the write within {timeout_ms} ms; it may still be kept")]
    NotReplicated {
        /// How long the store waited for a replica.
        timeout_ms: u64,
    },
    /// The store does not offer this operation here, or refused the request as malformed: a
    /// supervisor-side method asked of a runner's connection through the supervisor, say.
    /// Retrying does not help.
    #[error("not supported: {reason}")]
    Unsupported {
        /// What was asked and why it cannot be done.
        reason: String,
    },
    /// Stored data could not be read back; a bug or a foreign writer.
    #[error("stored data for `{key}` is corrupt: {reason}")]
    Corrupt {
        /// The key or id that holds it.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    /// True when the same call may succeed later, once the backend is back.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}
