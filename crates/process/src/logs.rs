//! Where a process's output goes: a rotating log file, an in-memory tail and live followers.
//!
//! Both backends feed the same [`Logs`] through [`pump`]: the `simple` backend from the pipe
//! holding the child's stdout and stderr, the `tmux` backend from the FIFO its pane is piped to.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::broadcast;

use crate::Policy;
use crate::lines::LineSplitter;
use crate::rotate::RotatingFile;

/// Lines buffered for each follower; one that falls further behind skips ahead
/// ([`broadcast::error::RecvError::Lagged`]) instead of slowing the process down.
const FOLLOW_BUFFER: usize = 1024;

/// The output of one process, shared by the tasks that read it and the handles that show it.
#[derive(Debug, Clone)]
pub(crate) struct Logs {
    id: Arc<str>,
    /// File and tail change together so that both see lines in the same order; the lock is
    /// held for one chunk of output, never across an await.
    inner: Arc<Mutex<Inner>>,
    followers: broadcast::Sender<String>,
    max_line_bytes: usize,
}

#[derive(Debug)]
struct Inner {
    file: RotatingFile,
    tail: VecDeque<String>,
    tail_lines: usize,
    /// Set while writes fail, so that a full disk logs one warning rather than one per line.
    failing: bool,
}

impl Logs {
    /// Opens the log file at `path` (appending) with the policy's limits.
    ///
    /// # Errors
    ///
    /// The file or its directory cannot be created.
    pub(crate) fn open(id: &str, path: &Path, policy: &Policy) -> std::io::Result<Self> {
        let file = RotatingFile::open(path, policy.max_log_bytes, policy.log_files)?;
        let inner = Inner {
            file,
            tail: VecDeque::new(),
            tail_lines: policy.tail_lines,
            failing: false,
        };
        Ok(Self {
            id: id.into(),
            inner: Arc::new(Mutex::new(inner)),
            followers: broadcast::channel(FOLLOW_BUFFER).0,
            max_line_bytes: policy.max_line_bytes,
        })
    }

    /// The last `lines` lines, oldest first.
    pub(crate) fn tail(&self, lines: usize) -> Vec<String> {
        let inner = self.lock();
        let skip = inner.tail.len().saturating_sub(lines);
        inner.tail.iter().skip(skip).cloned().collect()
    }

    /// A receiver of every line written from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<String> {
        self.followers.subscribe()
    }

    /// Writes `lines` to the file, the tail and the followers.
    pub(crate) fn append(&self, lines: Vec<String>) {
        if lines.is_empty() {
            return;
        }
        let mut inner = self.lock();
        let written = inner.file.write_lines(lines.iter().map(String::as_str));
        match written {
            Err(error) if !inner.failing => {
                tracing::warn!(id = %self.id, %error, "cannot write the log file; lines lost");
                inner.failing = true;
            }
            Err(_) => {}
            Ok(()) => inner.failing = false,
        }
        for line in lines {
            // No follower is normal: nobody is watching.
            let _ = self.followers.send(line.clone());
            inner.tail.push_back(line);
        }
        let excess = inner.tail.len().saturating_sub(inner.tail_lines);
        inner.tail.drain(..excess);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state stays consistent line by line, so a panic elsewhere does not spoil it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Copies `output` into `logs` line by line until it ends.
///
/// # Cancel safety
///
/// Not cancel safe: an unfinished line is lost.
pub(crate) async fn pump(mut output: impl AsyncRead + Unpin, logs: Logs) {
    let mut lines = LineSplitter::new(logs.max_line_bytes);
    let mut buffer = vec![0; 8192];
    loop {
        match output.read(&mut buffer).await {
            Ok(0) => break,
            Ok(n) => logs.append(lines.push(&buffer[..n])),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => {
                tracing::warn!(id = %logs.id, %error, "cannot read the process's output");
                break;
            }
        }
    }
    logs.append(lines.finish().into_iter().collect());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs(dir: &tempfile::TempDir, tail_lines: usize) -> Logs {
        let policy = Policy {
            tail_lines,
            ..Policy::default()
        };
        Logs::open("t", &dir.path().join("t.log"), &policy).unwrap()
    }

    #[tokio::test]
    async fn the_pump_feeds_file_tail_and_followers() {
        let dir = tempfile::tempdir().unwrap();
        let logs = logs(&dir, 2);
        let mut follower = logs.subscribe();
        pump(&b"one\ntwo\nthree"[..], logs.clone()).await;
        assert_eq!(logs.tail(10), ["two", "three"]);
        assert_eq!(logs.tail(1), ["three"]);
        let file = std::fs::read_to_string(dir.path().join("t.log")).unwrap();
        assert_eq!(file, "one\ntwo\nthree\n");
        for expected in ["one", "two", "three"] {
            assert_eq!(follower.try_recv().unwrap(), expected);
        }
    }

    #[test]
    fn the_tail_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(logs(&dir, 5).tail(5).is_empty());
    }
}
