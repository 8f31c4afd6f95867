//! [`Output`]: the lines a script prints, capped in size, each also logged with the job id.
//!
//! The engine's `print` hook pushes here; it cannot fail, so a script that prints past the
//! cap is ended by the engine's progress check, which asks [`Output::is_over_limit`].

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The printed lines of one script, shared between the engine's hooks and the caller.
#[derive(Clone, Debug)]
pub(crate) struct Output(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    job_id: String,
    max_bytes: usize,
    /// A std mutex: pushes are short and never cross an `.await`.
    printed: Mutex<Printed>,
}

#[derive(Debug, Default)]
struct Printed {
    lines: Vec<String>,
    bytes: usize,
    over_limit: bool,
}

impl Output {
    /// An empty buffer for job `job_id` that keeps at most `max_bytes`, newlines included.
    pub(crate) fn new(job_id: &str, max_bytes: usize) -> Self {
        Self(Arc::new(Shared {
            job_id: job_id.to_owned(),
            max_bytes,
            printed: Mutex::default(),
        }))
    }

    /// Logs and keeps one printed line, unless it would take the output past its cap: then
    /// the line is dropped and the output is over its limit from now on.
    pub(crate) fn push(&self, line: &str) {
        let mut printed = self.printed();
        if printed.over_limit {
            return;
        }
        let bytes = printed.bytes + line.len() + 1;
        if bytes > self.0.max_bytes {
            printed.over_limit = true;
            tracing::warn!(job = %self.0.job_id, max_bytes = self.0.max_bytes, "script output over its limit");
            return;
        }
        tracing::info!(job = %self.0.job_id, "{line}");
        printed.bytes = bytes;
        printed.lines.push(line.to_owned());
    }

    /// Whether a line was dropped for going past the cap.
    pub(crate) fn is_over_limit(&self) -> bool {
        self.printed().over_limit
    }

    /// The cap, in bytes.
    pub(crate) fn max_bytes(&self) -> usize {
        self.0.max_bytes
    }

    /// Removes and returns every line kept so far, oldest first.
    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.printed().lines)
    }

    fn printed(&self) -> MutexGuard<'_, Printed> {
        // A panic while holding the lock cannot leave `Printed` half-updated, so poison is
        // harmless.
        self.0
            .printed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_back_in_order() {
        let output = Output::new("j1", 100);
        output.push("a");
        output.push("b");
        assert_eq!(output.take(), ["a", "b"]);
        assert!(output.take().is_empty());
    }

    #[test]
    fn a_line_past_the_cap_is_dropped_and_marks_the_output() {
        let output = Output::new("j1", 4);
        output.push("abc");
        assert!(!output.is_over_limit());
        output.push("d");
        output.push("");
        assert!(output.is_over_limit());
        assert_eq!(output.take(), ["abc"]);
    }
}
