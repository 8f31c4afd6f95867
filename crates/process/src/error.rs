//! Why a process could not be started, watched or stopped.

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
    /// The pipe that carries a tmux window's output to the log could not be created.
    #[error("cannot create the output pipe for `{id}`")]
    Pipe {
        /// The process's id.
        id: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A tmux command failed, timed out or tmux is not installed.
    #[error("tmux {command} failed for `{id}` in session `{session}`")]
    Tmux {
        /// The process's id.
        id: String,
        /// The tmux session.
        session: String,
        /// The tmux command, such as `new-window`.
        command: &'static str,
        /// What tmux or the OS said.
        #[source]
        source: std::io::Error,
    },
    /// An environment variable's name is not one a shell could set.
    #[error(
        "the environment variable `{name}` of `{id}` has an invalid name: \
         expected letters, digits and `_`, not starting with a digit"
    )]
    EnvName {
        /// The process's id.
        id: String,
        /// The name.
        name: String,
    },
    /// The task that manages the process has ended, so the request cannot be carried out.
    #[error("the manager of `{id}` is gone")]
    Gone {
        /// The process's id.
        id: String,
    },
}
