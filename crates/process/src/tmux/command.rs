//! Running tmux commands: one client invocation each, bounded by a timeout.

use std::io;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// How long one tmux command may take before it counts as failed.
const TMUX_TIMEOUT: Duration = Duration::from_secs(5);

/// A tmux server: the user's default one, or a private one by socket name.
#[derive(Debug, Clone)]
pub(crate) struct Tmux {
    socket: Option<String>,
}

impl Tmux {
    pub(crate) fn new(socket: Option<String>) -> Self {
        Self { socket }
    }

    /// Runs `tmux [-L SOCKET] ARGS` and returns what it printed.
    ///
    /// # Errors
    ///
    /// Kind `Other` with tmux's message when tmux refused (no such window, no server);
    /// `TimedOut` when it did not answer; the OS's error when tmux cannot be run.
    pub(crate) async fn run(&self, args: &[&str]) -> io::Result<String> {
        self.exec(args, None).await
    }

    /// Runs the commands of `script`, one a line, read by tmux from its stdin.
    ///
    /// Arguments passed this way, such as environment values holding credentials, never show
    /// in a process list. Errors as for [`Tmux::run`].
    pub(crate) async fn script(&self, script: &str) -> io::Result<String> {
        self.exec(&["source-file", "-"], Some(script)).await
    }

    async fn exec(&self, args: &[&str], input: Option<&str>) -> io::Result<String> {
        let mut command = Command::new("tmux");
        if let Some(socket) = &self.socket {
            command.args(["-L", socket]);
        }
        command
            .args(args.iter().map(|arg| argument(arg).into_owned()))
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let run = async {
            let mut child = command.spawn()?;
            if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
                stdin.write_all(input.as_bytes()).await?;
            }
            child.wait_with_output().await
        };
        let output = tokio::time::timeout(TMUX_TIMEOUT, run)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "tmux did not answer"))??;
        if !output.status.success() {
            let message = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            return Err(io::Error::other(message));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// `arg` as tmux reads it back: tmux ends a command at an argument ending in `;` (as in
/// `tmux new-window \; kill-server`) unless the `;` is escaped, so a value such as a session
/// name `a;` would cut the command short and run the arguments after it as another.
fn argument(arg: &str) -> std::borrow::Cow<'_, str> {
    match arg.strip_suffix(';') {
        Some(head) => format!("{head}\\;").into(),
        None => arg.into(),
    }
}

/// Quotes `text` as one word for both tmux's command parser and `sh`: `'…'`, `'` as `'\''`.
/// Inside the quotes, tmux and `sh` take every character as it is, newlines included.
pub(crate) fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Escapes `#`, so that a value tmux expands as a format stays as it is.
pub(crate) fn literal(text: &str) -> String {
    text.replace('#', "##")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn a_trailing_semicolon_is_escaped_for_tmux() {
        assert_eq!(argument("a;"), r"a\;");
        assert_eq!(argument(r"a\;"), r"a\\;");
        assert_eq!(argument("a;b"), "a;b");
    }

    #[test]
    fn literal_doubles_hashes() {
        assert_eq!(literal("/tmp/#1"), "/tmp/##1");
    }
}
