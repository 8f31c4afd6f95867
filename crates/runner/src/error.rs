//! What can go wrong when starting a runner.
//!
//! Once running, a runner does not fail: store errors are logged and retried.

/// A runner that could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A [`RunnerConfig`](crate::RunnerConfig) field holds a value the runner cannot work with.
    #[error("invalid runner config: `{field}` {reason}")]
    InvalidConfig {
        /// The field's name.
        field: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
}
