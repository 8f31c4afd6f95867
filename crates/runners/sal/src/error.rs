//! [`Error`]: why a system function of a `sal` script failed.

use std::io;
use std::path::PathBuf;

use rhai::{Dynamic, EvalAltResult, Position};

/// A failed file operation or command; scripts see the message and its causes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file system call failed.
    #[error("cannot {action} `{}`", path.display())]
    File {
        /// What was attempted, e.g. "read".
        action: &'static str,
        /// The path it was attempted on.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A file is larger than a script string may be.
    #[error("`{}` is larger than the limit of {max} bytes for a string", path.display())]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The script's string limit.
        max: usize,
    },
    /// An environment variable name or value the OS cannot hold.
    #[error("invalid environment variable `{name}`: {reason}")]
    BadVariable {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An option of `run_with` is unknown or has the wrong type.
    #[error("option `{name}`: {reason}")]
    BadOption {
        /// The option as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The command could not be started, e.g. because it does not exist.
    #[error("cannot start `{command}`")]
    Spawn {
        /// The program.
        command: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Waiting for the command or reading its output failed.
    #[error("lost track of `{command}`")]
    Wait {
        /// The program.
        command: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The command ran past its `timeout` and was killed.
    #[error("`{command}` did not finish within {seconds}s and was killed")]
    TimedOut {
        /// The program.
        command: String,
        /// The timeout.
        seconds: f64,
    },
    /// The command wrote more to stdout or stderr than a script string may hold.
    #[error("the {stream} of `{command}` is larger than the limit of {max} bytes")]
    OutputTooLarge {
        /// The program.
        command: String,
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// The script's string limit.
        max: usize,
    },
    /// The job was stopped or timed out while the command ran; it was killed.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// The error a script sees when `function` fails this way: the message and its causes,
    /// or, for [`Error::Interrupted`], the uncatchable end of the script.
    pub(crate) fn in_function(&self, function: &str) -> Box<EvalAltResult> {
        if let Self::Interrupted = self {
            return EvalAltResult::ErrorTerminated(Dynamic::UNIT, Position::NONE).into();
        }
        let mut message = format!("{function}: {self}");
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            message.push_str(&format!(": {error}"));
            cause = error.source();
        }
        message.into()
    }
}
