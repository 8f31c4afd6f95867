//! The job model of Hero Supervisor: pure data, no I/O.
//!
//! - [`Job`] and [`JobBuilder`]: what callers submit, validated by [`Job::validate`].
//! - [`JobStatus`]: the life cycle of a job and its allowed transitions.
//! - [`JobResult`]: the outcome of a finished job.
//! - [`JobStatusInfo`]: the status answer with its timestamps.
//! - [`JobRecord`]: a stored job with its state, as stores return it.
//! - [`Progress`]: how far a running job says it is.
//! - [`JobEvent`] and [`EventStatus`]: one change of a job, as `jobs.subscribe` sends it.
//! - [`Level`]: the secret level that submitted a job, or that a runner requires.
//!
//! ```
//! use hero_job::{JobBuilder, JobStatus};
//!
//! let job = JobBuilder::new()
//!     .caller_id("me")
//!     .context_id("ctx")
//!     .payload("40 + 2")
//!     .executor("osis")
//!     .runner("osis_runner_1")
//!     .timeout(30)
//!     .build()
//!     .expect("every field is valid");
//! assert!(job.id.is_empty(), "the supervisor assigns the id");
//! assert!(JobStatus::Queued.can_become(JobStatus::Running));
//! ```

mod builder;
mod error;
mod event;
mod job;
mod level;
mod progress;
mod record;
mod result;
mod status;

pub use builder::JobBuilder;
pub use error::Error;
pub use event::{EventStatus, JobEvent};
pub use job::{
    DEFAULT_RETRY_BACKOFF_SECS, DEFAULT_TIMEOUT_SECS, Job, Limits, MAX_DELAY_SECS, MAX_PRIORITY,
    MAX_RETRIES, MAX_RETRY_BACKOFF_SECS, MAX_RETRY_DELAY_SECS, MAX_TIMEOUT_SECS, validate_id,
};
pub use level::Level;
pub use progress::{MAX_PROGRESS_MESSAGE_BYTES, Progress};
pub use record::JobRecord;
pub use result::JobResult;
pub use status::{JobStatus, JobStatusInfo, UnknownStatus};
