//! What a managed process is doing: its state, pid, restarts and how it last ended.

use std::fmt;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The state of a managed process; serialized in lowercase (`running`, `backoff`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ProcessState {
    /// Being launched.
    Starting,
    /// Running.
    Running,
    /// Exited unexpectedly; waiting out the backoff before the next start.
    Backoff,
    /// Being stopped: SIGTERM sent, waiting for the grace period.
    Stopping,
    /// Not running: never started, stopped on request, or exited with autorestart off.
    Stopped,
    /// Not running and not restarted: repeated fast crashes or a failed start.
    Failed,
    /// Cannot be known: the task that managed the process has ended.
    Unknown,
}

/// A snapshot of a managed process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProcessStatus {
    /// What it is doing.
    pub state: ProcessState,
    /// Its pid while running (for tmux, the pane's process).
    pub pid: Option<u32>,
    /// Automatic restarts since the manager was created; never reset.
    pub restarts: u32,
    /// How the last run ended, or why the last start failed.
    pub last_exit: Option<String>,
    /// When `state` last changed.
    pub since: DateTime<Utc>,
}

impl ProcessStatus {
    pub(crate) fn stopped() -> Self {
        Self {
            state: ProcessState::Stopped,
            pid: None,
            restarts: 0,
            last_exit: None,
            since: Utc::now(),
        }
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Exited with this status.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
    /// Gone without a status, such as a tmux window closed from outside.
    Unknown,
}

impl Exit {
    pub(crate) fn is_success(self) -> bool {
        self == Self::Code(0)
    }
}

impl From<ExitStatus> for Exit {
    fn from(status: ExitStatus) -> Self {
        match (status.code(), status.signal()) {
            (Some(code), _) => Self::Code(code),
            (None, Some(signal)) => Self::Signal(signal),
            (None, None) => Self::Unknown,
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Code(code) => write!(f, "exited with status {code}"),
            Self::Signal(signal) => match nix::sys::signal::Signal::try_from(signal) {
                Ok(name) => write!(f, "killed by signal {signal} ({name})"),
                Err(_) => write!(f, "killed by signal {signal}"),
            },
            Self::Unknown => f.write_str("exited"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_serialize_in_lowercase() {
        let json = serde_json::to_string(&[ProcessState::Running, ProcessState::Backoff]).unwrap();
        assert_eq!(json, r#"["running","backoff"]"#);
    }

    #[test]
    fn exits_read_as_sentences() {
        assert_eq!(Exit::Code(3).to_string(), "exited with status 3");
        assert_eq!(Exit::Signal(9).to_string(), "killed by signal 9 (SIGKILL)");
        assert!(Exit::Code(0).is_success());
        assert!(!Exit::Signal(15).is_success());
    }
}
