//! What to run.

use std::path::PathBuf;

/// A process to start: its program, arguments, environment and log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// Identifies the process in logs and errors.
    pub id: String,
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment variables, on top of the supervisor's own.
    pub env: Vec<(String, String)>,
    /// File that receives stdout and stderr, appended to.
    pub log_path: PathBuf,
}
