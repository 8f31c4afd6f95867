//! How answers are shown: JSON for `--json`, else tables and `key: value` lines for people.

use std::io::{IsTerminal as _, Write as _};

use chrono::{DateTime, Utc};
use comfy_table::{ContentArrangement, Table, presets};
use hero_supervisor_openrpc_client::{JobEvent, JobResult, Progress};
use serde::Serialize;

/// Prints `value` as one JSON document (or one line of a JSON Lines stream) on stdout.
///
/// # Errors
///
/// Stdout is closed, e.g. piped into `head`.
pub(crate) fn json(value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string(value)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")?;
    stdout.flush()?;
    Ok(())
}

/// Prints `text` and a line end on stdout. On a terminal, control characters other than line
/// ends and tabs show as `�`: job output, log lines and error texts come from whoever wrote
/// the job, and must not drive the terminal (move the cursor, set its title, hide text).
///
/// # Errors
///
/// Stdout is closed, e.g. piped into `head`.
pub(crate) fn line(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if stdout.is_terminal() {
        writeln!(stdout, "{}", inert(text))?;
    } else {
        writeln!(stdout, "{text}")?;
    }
    stdout.flush()
}

/// `text` with every control character but `\n` and `\t` replaced by `�`.
pub(crate) fn inert(text: &str) -> std::borrow::Cow<'_, str> {
    let keep = |c: char| !c.is_control() || c == '\n' || c == '\t';
    if text.chars().all(keep) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| if keep(c) { c } else { '\u{FFFD}' })
            .collect(),
    )
}

/// Writes `text` to stdout as it is, at once.
///
/// # Errors
///
/// Stdout is closed.
pub(crate) fn raw(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// A table with `header`, fitted to the terminal's width when there is one wide enough.
pub(crate) fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_header(header.iter().copied());
    // A terminal that reports no usable width (a bare pty) would squash every column.
    if table.width().is_some_and(|width| width >= 40) {
        table.set_content_arrangement(ContentArrangement::Dynamic);
    }
    table
}

/// `table` as text, without the blank margin the preset leaves around each line.
pub(crate) fn table_text(table: &Table) -> String {
    let lines: Vec<String> = table
        .lines()
        .map(|line| {
            let line = line.strip_prefix(' ').unwrap_or(&line);
            line.trim_end().to_owned()
        })
        .collect();
    lines.join("\n")
}

/// Prints `rows` of `key  value`, keys aligned.
///
/// # Errors
///
/// Stdout is closed.
pub(crate) fn fields(rows: &[(&str, String)]) -> std::io::Result<()> {
    let width = rows.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    for (key, value) in rows {
        line(&format!("{key:<width$}  {value}"))?;
    }
    Ok(())
}

/// The wire name of a serializable enum value (`running`, `local`, …).
pub(crate) fn wire(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => "?".to_owned(),
    }
}

/// `text` on one line, cut to `max` characters with `…`.
pub(crate) fn short(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A time as `2026-12-01 20:36:18` (UTC).
pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// [`time`], or `-` when there is none.
pub(crate) fn maybe_time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "-".to_owned(), time)
}

/// A progress report as `40% message`.
pub(crate) fn progress(progress: &Progress) -> String {
    if progress.message.is_empty() {
        format!("{}%", progress.percent)
    } else {
        format!("{}% {}", progress.percent, progress.message)
    }
}

/// Prints a job's result: the output on stdout, or the error on stderr; as JSON with `--json`.
/// Returns the exit status it calls for.
///
/// # Errors
///
/// Stdout is closed.
pub(crate) fn result(result: &JobResult, as_json: bool) -> anyhow::Result<u8> {
    if as_json {
        json(result)?;
    } else {
        match result {
            JobResult::Success { success } => line(success)?,
            JobResult::Error { error } => eprintln!("job failed: {}", inert(error)),
        }
    }
    Ok(if result.is_success() {
        crate::exit::SUCCESS
    } else {
        crate::exit::FAILED
    })
}

/// One event on one line: time, job, runner, status, then progress or result.
pub(crate) fn event_line(event: &JobEvent) -> String {
    let mut line = format!(
        "{} {} {:<9} {}",
        event.at.format("%H:%M:%S%.3f"),
        event.job_id,
        event.status.as_str(),
        event.runner,
    );
    if let Some(p) = &event.progress {
        line.push_str("  ");
        line.push_str(&short(&progress(p), 60));
    }
    match &event.result {
        Some(JobResult::Success { success }) => {
            line.push_str("  → ");
            line.push_str(&short(success, 60));
        }
        Some(JobResult::Error { error }) => {
            line.push_str("  ✗ ");
            line.push_str(&short(error, 60));
        }
        None => {}
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_control_sequences_are_made_inert_but_lines_and_tabs_kept() {
        assert_eq!(inert("a\tb\nc"), "a\tb\nc");
        assert_eq!(
            inert("\u{1b}]0;pwned\u{7}x\r"),
            "\u{FFFD}]0;pwned\u{FFFD}x\u{FFFD}"
        );
    }

    #[test]
    fn long_or_multi_line_text_is_cut_to_one_line() {
        assert_eq!(short("print(1)\nprint(2)", 40), "print(1) print(2)");
        assert_eq!(short("abcdef", 4), "abc…");
        assert_eq!(short("abcd", 4), "abcd");
    }
}
