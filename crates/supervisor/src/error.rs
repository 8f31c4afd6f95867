//! The supervisor's errors and their one conversion into JSON-RPC errors.

use std::path::PathBuf;

use hero_supervisor_api::codes;
use hero_supervisor_api::params::ParamsError;
use jsonrpsee::types::ErrorObjectOwned;

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, or has an unknown key or a wrong type.
    #[error("config file `{path}`: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, naming the key and line.
        reason: String,
    },
    /// A secrets file (given, or the generated admin secret's) cannot be read or written.
    #[error("cannot use the secrets file `{path}`")]
    SecretFile {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A value is well-typed but unusable.
    #[error("config key `{key}`: {reason}")]
    Invalid {
        /// The key, dotted.
        key: String,
        /// Why.
        reason: String,
    },
}

/// Why the supervisor could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The store cannot be reached.
    #[error(transparent)]
    Store(#[from] hero_store::Error),
    /// A runner process could not be started.
    #[error(transparent)]
    Process(#[from] hero_process::Error),
    /// The configuration cannot be used, e.g. its TLS certificate.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The API server could not start.
    #[error("cannot start the API server")]
    Server(#[source] std::io::Error),
    /// The data directory, which holds the embedded store, or the store's file in it cannot
    /// be created or made private.
    #[error("cannot prepare `{path}` for the embedded store")]
    DataDir {
        /// The directory or the file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The runner endpoint's socket (`[runner_endpoint] socket`) cannot be served.
    #[error("cannot serve runners on the socket `{path}`")]
    RunnerEndpoint {
        /// The socket's path.
        path: PathBuf,
        /// What the OS said, or why the file there is not replaced.
        #[source]
        source: std::io::Error,
    },
}

/// A failed RPC call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No usable secret for this method.
    #[error("unauthorized: {reason}")]
    Unauthorized {
        /// What was wrong with the secret, never the secret itself.
        reason: &'static str,
    },
    /// A secret below admin submitted a job to a runner that takes admin jobs only.
    #[error("unauthorized: runner `{runner}` takes jobs from admin secrets only")]
    RunnerNeedsAdmin {
        /// The runner (queue) the job named.
        runner: String,
    },
    /// A job named a runner nobody knows, and the supervisor does not accept those.
    #[error(
        "not found: no runner `{runner}` is configured, registered or seen; known runners: {}",
        if known.is_empty() { "none".to_owned() } else { known.join(", ") }
    )]
    UnknownRunner {
        /// The runner (queue) the job named.
        runner: String,
        /// The runners the caller may submit to.
        known: Vec<String>,
    },
    /// The params do not fit the method.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// The job is invalid.
    #[error("invalid params: {0}")]
    Job(#[from] hero_job::Error),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] hero_store::Error),
    /// `add_secret` or `remove_secret` with an unusable type or value.
    #[error("invalid params: {reason}")]
    BadSecret {
        /// What is wrong, never the secret.
        reason: &'static str,
    },
    /// `register_runner` with an `access` that is not a level.
    #[error("invalid params: access must be `user` or `admin`")]
    BadAccess,
    /// `remove_secret` of a secret that does not grant that level.
    #[error("not found: no such secret of that type")]
    SecretNotFound,
    /// `remove_secret` of the only admin secret left, or `add_secret` giving it a lesser level.
    #[error("conflict: the last admin secret cannot be {action}; add another admin secret first")]
    LastAdminSecret {
        /// `removed` or `demoted`.
        action: &'static str,
    },
    /// `unregister_runner` of a runner of the configuration.
    #[error(
        "conflict: runner `{name}` is a configured actor; remove it from the configuration instead"
    )]
    ConfiguredRunner {
        /// The runner's name.
        name: String,
    },
    /// `register_runner` by a register secret on the queue of a configured actor.
    #[error(
        "conflict: queue `{queue}` belongs to a configured actor; only an admin secret may register a runner on it"
    )]
    ConfiguredQueue {
        /// The queue the registration named.
        queue: String,
    },
    /// No local actor or registered runner has this name.
    #[error("not found: no runner with this name")]
    RunnerNotFound,
    /// A runner method that only applies to local runners was called on a remote one.
    #[error("the runner is remote: it can only be {action} on its own host")]
    RemoteRunner {
        /// What was asked, e.g. `started`.
        action: &'static str,
    },
    /// A runner process could not be started or stopped.
    #[error("runner process: {0}")]
    Process(#[from] hero_process::Error),
    /// A `jobs.create_many` call with more jobs than `[limits] max_jobs_per_call`.
    #[error("invalid params: {given} jobs in one call; at most {max} are accepted")]
    TooManyJobs {
        /// The number of jobs sent.
        given: usize,
        /// `[limits] max_jobs_per_call`.
        max: usize,
    },
    /// A schedule that cannot be created as given.
    #[error("invalid params: {reason}")]
    BadSchedule {
        /// What is wrong, naming the field.
        reason: String,
    },
    /// One job of a `jobs.create_many` call was refused: answered with the code of `source`,
    /// its message prefixed with `jobs[index]: `.
    #[error("jobs[{index}]: {source}")]
    InJob {
        /// The job's place in the call, from 0.
        index: usize,
        /// Why it was refused.
        source: Box<Error>,
    },
    /// A runner's store call (`runner.claim`, …) with params out of bounds.
    #[error("invalid params: {reason}")]
    RunnerCall {
        /// What is wrong, naming the field.
        reason: String,
    },
    /// The method is declared in the API table but this server has no handler for it.
    #[error("method `{method}` is not served by this supervisor")]
    NotServed {
        /// The method's wire name.
        method: &'static str,
    },
    /// A `job.run` or `job.result` while as many calls already wait as the limit allows.
    #[error("busy: {max} calls are already waiting for jobs; retry later")]
    TooManyWaits {
        /// `[limits] max_connections`.
        max: u32,
    },
    /// A `job.run` or `job.result` still waiting when the supervisor shuts down; the job goes
    /// on, and another supervisor on the same store can be asked for its result.
    #[error("the supervisor is shutting down; the job goes on{}: ask job.result again", .id.as_ref().map(|id| format!(" (its id is {id})")).unwrap_or_default())]
    ShuttingDown {
        /// The job's id when the server chose it, so the caller can ask for it; `None` when
        /// the caller gave it.
        id: Option<String>,
    },
    /// `job.result` waited as long as the job may run, and it is still not final.
    #[error("the job is still {status} after waiting {waited_secs}s; ask again later")]
    WaitTimedOut {
        /// The job.
        id: String,
        /// Its status when the wait ended.
        status: hero_job::JobStatus,
        /// How long the call waited.
        waited_secs: u64,
    },
    /// A `jobs.subscribe` subscription whose client read too slowly: more events were waiting
    /// than the server keeps for one subscription.
    #[error(
        "busy: subscription ended: the client read too slowly ({pending} events were waiting); \
         subscribe again and re-read the jobs"
    )]
    EventsTooSlow {
        /// The events a subscription may have waiting.
        pending: usize,
    },
    /// A `jobs.subscribe` subscription that may have missed events: the supervisor lost its
    /// connection to the store, or fell behind the changes.
    #[error(
        "backend unavailable: subscription ended: events may have been missed (the connection \
         to the store was lost or fell behind); subscribe again and re-read the jobs"
    )]
    EventsMissed,
    /// A `jobs.subscribe` subscription open when the supervisor shuts down.
    #[error(
        "subscription ended: the supervisor is shutting down; subscribe again, to another \
         supervisor sharing the store if there is one"
    )]
    EventsShutdown,
    /// A `jobs.subscribe` subscription whose secret was removed or changed level.
    #[error("unauthorized: subscription ended: its secret was removed or changed level")]
    SubscriptionRevoked,
}

impl Error {
    /// This refusal of the job at `index` of a `jobs.create_many` call.
    pub(crate) fn in_job(self, index: usize) -> Self {
        Self::InJob {
            index,
            source: Box::new(self),
        }
    }
}

impl From<Error> for ErrorObjectOwned {
    fn from(error: Error) -> Self {
        use hero_store::Error as Store;
        if let Error::InJob { index, source } = error {
            let inner = Self::from(*source);
            let message = format!("jobs[{index}]: {}", inner.message());
            return Self::owned(inner.code(), message, None::<()>);
        }
        let code = match &error {
            Error::Unauthorized { .. } | Error::RunnerNeedsAdmin { .. } => codes::UNAUTHORIZED,
            Error::UnknownRunner { .. } => codes::NOT_FOUND,
            Error::Params(_)
            | Error::Job(_)
            | Error::TooManyJobs { .. }
            | Error::BadSchedule { .. }
            | Error::RunnerCall { .. }
            | Error::Store(Store::TooManySchedules { .. }) => codes::INVALID_PARAMS,
            // Answered above with its source's code; never reached.
            Error::InJob { .. } => codes::INTERNAL_ERROR,
            Error::Store(
                Store::JobNotFound { .. }
                | Store::RunnerNotFound { .. }
                | Store::ScheduleNotFound { .. },
            ) => codes::NOT_FOUND,
            Error::Store(
                Store::JobExists { .. }
                | Store::WrongState { .. }
                | Store::RunnerExists { .. }
                | Store::ScheduleExists { .. },
            ) => codes::CONFLICT,
            Error::Store(Store::Unavailable { .. } | Store::NotReplicated { .. }) => {
                codes::BACKEND_UNAVAILABLE
            }
            Error::Store(_) => codes::INTERNAL_ERROR,
            Error::WaitTimedOut { .. } | Error::ShuttingDown { .. } | Error::EventsShutdown => {
                codes::WAIT_TIMED_OUT
            }
            Error::TooManyWaits { .. } | Error::EventsTooSlow { .. } => codes::BUSY,
            Error::EventsMissed => codes::BACKEND_UNAVAILABLE,
            Error::SubscriptionRevoked => codes::UNAUTHORIZED,
            Error::NotServed { .. } => codes::METHOD_NOT_FOUND,
            Error::RunnerNotFound | Error::SecretNotFound => codes::NOT_FOUND,
            Error::BadSecret { .. } | Error::BadAccess => codes::INVALID_PARAMS,
            Error::LastAdminSecret { .. }
            | Error::ConfiguredRunner { .. }
            | Error::ConfiguredQueue { .. } => codes::CONFLICT,
            Error::RemoteRunner { .. } => codes::CONFLICT,
            Error::Process(_) => codes::INTERNAL_ERROR,
        };
        let message = match &error {
            // Backend details (addresses, driver messages) stay in the server's log.
            Error::Store(Store::Unavailable { .. }) => {
                tracing::warn!(error = %error, "store unavailable");
                "backend unavailable: the job store cannot be reached; retry later".to_owned()
            }
            // The id is the caller's input: it is not repeated back (it may be a misplaced
            // secret, and answers end up in logs of proxies).
            Error::Store(Store::JobNotFound { .. }) => "not found: no job with this id".to_owned(),
            Error::Process(_) => {
                tracing::error!(error = %error, "runner process");
                "internal error: the runner process could not be started or stopped; see the \
                 supervisor's log"
                    .to_owned()
            }
            Error::Store(Store::WrongState { status, action, .. }) => {
                format!("conflict: the job is {status}, so it cannot be {action}")
            }
            Error::Store(Store::RunnerNotFound { .. }) => {
                "not found: no runner is registered with this name".to_owned()
            }
            Error::Store(Store::ScheduleNotFound { .. }) => {
                "not found: no schedule with this name".to_owned()
            }
            Error::Store(Store::ScheduleExists { .. }) => {
                "conflict: a schedule with this name already exists".to_owned()
            }
            Error::Store(Store::TooManySchedules { max }) => {
                format!(
                    "invalid params: the store already holds {max} schedules, the most it may ([limits] max_schedules)"
                )
            }
            Error::Store(Store::JobExists { .. }) => {
                "conflict: a job with this id already exists".to_owned()
            }
            Error::Store(Store::NotReplicated { timeout_ms }) => {
                tracing::warn!(error = %error, "a submit was not confirmed by a replica");
                format!(
                    "backend unavailable: no Redis replica confirmed the write within \
                     {timeout_ms} ms (durability = \"replicated\"); what was submitted may exist \
                     all the same: look for it (job.status, jobs.list) before submitting again"
                )
            }
            Error::Store(Store::Corrupt { .. }) => {
                tracing::error!(error = %error, "corrupt data in the store");
                "internal error: stored data could not be read".to_owned()
            }
            _ => error.to_string(),
        };
        ErrorObjectOwned::owned(code, message, None::<()>)
    }
}
