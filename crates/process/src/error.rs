//! Why a process could not be started or stopped.

use std::path::PathBuf;

/// A process operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The program could not be executed.
    #[error("cannot start `{program}` for `{id}`")]
    Spawn {
        /// The process's id.
        id: String,
        /// The program.
        program: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The log file could not be opened.
    #[error("cannot open log file `{path}` for `{id}`")]
    Log {
        /// The process's id.
        id: String,
        /// The log file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}
