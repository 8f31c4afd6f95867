//! How a managed process is restarted, stopped and logged: supervisord's per-program settings.

use std::time::Duration;

/// The rules a [`ProcessManager`](crate::ProcessManager) follows for one process.
///
/// Build it from the defaults and change what you need:
/// `Policy { stop_grace: Duration::from_secs(20), ..Policy::default() }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Restart the process when it exits without being asked to. Default `true`.
    ///
    /// When `false`, an unexpected exit leaves the process `stopped` (exit status 0) or
    /// `failed` (anything else).
    pub autorestart: bool,
    /// Delay before the first restart. Default 500 ms; doubles on each fast crash.
    pub initial_backoff: Duration,
    /// Cap on the restart delay. Default 30 s.
    pub max_backoff: Duration,
    /// Fraction by which each delay is randomly shortened, so that processes crashing together
    /// do not restart together. Default 0.2 (a delay lies between 80 % and 100 % of its bound);
    /// clamped to 0–1.
    pub jitter: f64,
    /// An exit within this time of the start is a fast crash. Default 5 s.
    ///
    /// A process that ran longer resets the backoff and the fast-crash count.
    pub fast_crash: Duration,
    /// Fast crashes in a row after which the process is `failed` and no longer restarted.
    /// Default 5; 0 behaves as 1. An explicit start clears the count.
    ///
    /// Only exits with a status count (a process that gives up by itself: a bad config, an
    /// unreachable backend). A process killed by a signal (out of memory, an abort, a
    /// segfault) is restarted with the same backoff but never given up on: a runner's job can
    /// bring its runner down that way, and the runner must go on serving other jobs.
    pub max_fast_crashes: u32,
    /// Time between SIGTERM and SIGKILL when stopping without force. Default 10 s.
    pub stop_grace: Duration,
    /// Size at which the log file is rotated. Default 10 MiB.
    ///
    /// A file grows past it only by a single line longer than the rest of the budget.
    pub max_log_bytes: u64,
    /// Rotated log files kept, `<log>.1` (newest) to `<log>.N`. Default 3; 0 truncates the log
    /// instead of rotating it.
    pub log_files: usize,
    /// Lines kept in memory for [`ProcessManager::logs`](crate::ProcessManager::logs).
    /// Default 1000.
    pub tail_lines: usize,
    /// Longest line kept; a longer one is cut into lines of this size. Default 16 KiB, which with
    /// `tail_lines` bounds the memory tail at 16 MiB.
    pub max_line_bytes: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            autorestart: true,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            jitter: 0.2,
            fast_crash: Duration::from_secs(5),
            max_fast_crashes: 5,
            stop_grace: Duration::from_secs(10),
            max_log_bytes: 10 * 1024 * 1024,
            log_files: 3,
            tail_lines: 1000,
            max_line_bytes: 16 * 1024,
        }
    }
}
