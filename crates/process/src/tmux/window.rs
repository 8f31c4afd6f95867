//! One run of a process in a tmux window: its pane's process leads a session and a group.
//!
//! The process is not our child, so there is no handle to wait on: its exit is seen by
//! asking tmux about the pane (`pane_dead`, kept by `remain-on-exit`) at an interval.
//! Tmux reaps the process, so asking tmux rather than probing the pid never mistakes a reused
//! pid for the runner.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::time::Instant;

use super::command::{Tmux, literal, quote};
use crate::backend::Process;
use crate::status::Exit;
use crate::{Error, ProcessSpec};

/// How often a running pane is checked for an exit: each check is one tmux command.
const WATCH_INTERVAL: Duration = Duration::from_millis(250);
/// How often a pane is checked while it is being stopped.
const STOP_INTERVAL: Duration = Duration::from_millis(20);
/// How long a pane gets to die after SIGKILL before its window is killed anyway.
const KILL_WAIT: Duration = Duration::from_secs(5);
/// Checks of a dead pane whose exit status tmux has not recorded yet, each after a reap.
const STATUS_CHECKS: u32 = 5;
/// What the window runs until the real program replaces it (`respawn-pane -k`).
const PLACEHOLDER: [&str; 2] = ["sleep", "86400"];

/// What tmux says about a pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pane {
    Alive,
    Dead(Exit),
    /// The window, the session or the server is gone.
    Gone,
}

/// A process running in a window of a tmux session, leader of its own process group.
#[derive(Debug)]
pub(crate) struct TmuxWindow {
    tmux: Tmux,
    id: String,
    /// `@N`: unlike the name, unique and free of the `.` and `:` that targets split on.
    window: String,
    /// The pane's process: a session leader, so also its group id.
    pgid: Pid,
    /// Set once the window is killed: the group is never signalled again.
    closed: Option<Exit>,
}

impl TmuxWindow {
    /// Opens a window named `spec.id` in `session` running the spec, its output piped to
    /// `fifo`, its environment read from `env_file` (see [`env_file_text`]), which the
    /// window's shell removes once read.
    ///
    /// The window first runs a placeholder, so that `remain-on-exit` and the output pipe are
    /// in place before the program starts: neither its exit status nor its first lines can be
    /// missed.
    pub(crate) async fn open(
        tmux: &Tmux,
        session: &str,
        spec: &ProcessSpec,
        fifo: &Path,
        env_file: &Path,
    ) -> Result<Self, Error> {
        let error = |command| {
            move |source| Error::Tmux {
                id: spec.id.clone(),
                session: session.to_owned(),
                command,
                source,
            }
        };
        let target = format!("={session}:");
        let mut args = vec!["new-window", "-d", "-t", &target, "-n", &spec.id];
        args.extend(["-P", "-F", "#{window_id}", "--"]);
        args.extend(PLACEHOLDER);
        let window = tmux.run(&args).await.map_err(error("new-window"))?;
        let window = window.trim().to_owned();
        let started = tmux
            .script(&respawn_script(&window, spec, fifo, env_file))
            .await;
        let pane_pid = started.and_then(|out| {
            out.trim()
                .parse::<i32>()
                .map_err(|_| std::io::Error::other(format!("unexpected pane pid `{}`", out.trim())))
        });
        match pane_pid {
            Ok(pid) => {
                tracing::info!(id = %spec.id, %session, %window, pid, "started runner in tmux");
                Ok(Self {
                    tmux: tmux.clone(),
                    id: spec.id.clone(),
                    window,
                    pgid: Pid::from_raw(pid),
                    closed: None,
                })
            }
            Err(source) => {
                // The placeholder must not outlive the failed start; the window may be gone.
                let _ = tmux.run(&["kill-window", "-t", &window]).await;
                Err(error("respawn-pane")(source))
            }
        }
    }

    /// What tmux says about the pane; `None` when tmux does not answer.
    async fn pane(&self) -> Option<Pane> {
        let format = "#{pane_dead} #{pane_dead_status} #{pane_dead_signal}";
        match self
            .tmux
            .run(&["list-panes", "-t", &self.window, "-F", format])
            .await
        {
            Ok(out) => Some(parse_pane(&out)),
            Err(error) if error.kind() == std::io::ErrorKind::Other => Some(Pane::Gone),
            Err(error) => {
                tracing::warn!(id = %self.id, %error, "cannot ask tmux about the runner's pane");
                None
            }
        }
    }

    /// Checks the pane every `interval` until it is dead or `deadline` passes.
    async fn dead(&self, interval: Duration, deadline: Option<Instant>) -> Option<Exit> {
        let mut reaps = 0;
        loop {
            let past_deadline = deadline.is_some_and(|deadline| Instant::now() >= deadline);
            match self.pane().await {
                Some(Pane::Gone) => return Some(Exit::Unknown),
                Some(Pane::Dead(Exit::Unknown)) if reaps < STATUS_CHECKS && !past_deadline => {
                    reaps += 1;
                    self.reap().await;
                }
                Some(Pane::Dead(exit)) => return Some(exit),
                Some(Pane::Alive) | None if past_deadline => return None,
                Some(Pane::Alive) | None => {}
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// Makes tmux reap its dead children, so that the pane's exit status shows.
    ///
    /// A pane is dead once its output ends, which can come before tmux reaps the process
    /// (<https://github.com/tmux/tmux/pull/4841>); and tmux 3.3 at times misses the SIGCHLD,
    /// leaving the process a zombie and its status empty until another child exits. A
    /// `run-shell` job is such a child: tmux reaps every exited child when it ends.
    async fn reap(&self) {
        if let Err(error) = self.tmux.run(&["run-shell", "true"]).await {
            tracing::warn!(id = %self.id, %error, "cannot make tmux reap the runner");
        }
    }

    /// Kills what is left of the group and the window; the group is never signalled again.
    async fn close(&mut self, exit: Exit) -> Exit {
        if self.closed.is_none() {
            // Grandchildren may outlive the pane's process, or have ignored SIGTERM.
            self.signal(Signal::SIGKILL);
            self.closed = Some(exit);
            // The window may be gone already, closed from outside or with its server.
            let _ = self.tmux.run(&["kill-window", "-t", &self.window]).await;
        }
        self.closed.unwrap_or(exit)
    }

    fn signal(&self, signal: Signal) {
        if self.closed.is_some() {
            return;
        }
        // ESRCH: the group is already gone, which is what stopping wants.
        if let Err(e) = killpg(self.pgid, signal)
            && e != nix::errno::Errno::ESRCH
        {
            tracing::warn!(id = %self.id, %signal, error = %e, "cannot signal process group");
        }
    }
}

impl Process for TmuxWindow {
    fn pid(&self) -> u32 {
        self.pgid.as_raw().unsigned_abs()
    }

    async fn exited(&mut self) -> Exit {
        let exit = match self.closed {
            Some(exit) => exit,
            None => self
                .dead(WATCH_INTERVAL, None)
                .await
                .unwrap_or(Exit::Unknown),
        };
        self.close(exit).await
    }

    async fn stop(&mut self, grace: Duration) -> Exit {
        if self.closed.is_none() && !grace.is_zero() {
            self.signal(Signal::SIGTERM);
            let deadline = Instant::now() + grace;
            if let Some(exit) = self.dead(STOP_INTERVAL, Some(deadline)).await {
                return self.close(exit).await;
            }
            tracing::warn!(id = %self.id, ?grace, "runner ignored SIGTERM; killing it");
        }
        self.signal(Signal::SIGKILL);
        let deadline = Instant::now() + KILL_WAIT;
        let exit = self.dead(STOP_INTERVAL, Some(deadline)).await;
        let exit = self.close(exit.unwrap_or(Exit::Unknown)).await;
        tracing::info!(id = %self.id, %exit, "stopped runner in tmux");
        exit
    }
}

impl Drop for TmuxWindow {
    fn drop(&mut self) {
        // No await here: the dead window stays until the next start replaces it.
        self.signal(Signal::SIGKILL);
    }
}

/// What the pane runs before the program: with nothing of the tmux server's environment
/// (`env -i`), a shell sets the variables of the file `$1`, removes the file and becomes the
/// program. The shell's own `PWD` is dropped, so the program sees the spec's environment only.
const LOADER: &str = r#"unset PWD; . "$1" && rm -f -- "$1" && shift && exec "$@""#;

/// Keeps the pane after its process exits, pipes its output to `fifo`, then replaces the
/// placeholder with the program and prints the new pane pid.
///
/// Tmux would give the program its server's environment, plus what `respawn-pane -e` adds:
/// instead, the program starts through [`LOADER`] with `env_file`, which holds its whole
/// environment, so no value passes through tmux and none shows in a process list.
fn respawn_script(window: &str, spec: &ProcessSpec, fifo: &Path, env_file: &Path) -> String {
    let pipe = format!("exec cat >> {}", quote(&fifo.display().to_string()));
    let mut respawn = format!("respawn-pane -k -t {window}");
    if let Ok(dir) = std::env::current_dir() {
        respawn += &format!(" -c {}", quote(&literal(&dir.display().to_string())));
    }
    respawn += " --";
    let env_file = env_file.display().to_string();
    let program = spec.program.display().to_string();
    let words = [
        "/usr/bin/env",
        "-i",
        "/bin/sh",
        "-c",
        LOADER,
        "sh",
        &env_file,
    ]
    .into_iter()
    .chain(std::iter::once(program.as_str()))
    .chain(spec.args.iter().map(String::as_str));
    for word in words {
        respawn += &format!(" {}", quote(word));
    }
    [
        format!("set-option -w -t {window} remain-on-exit on"),
        format!("pipe-pane -t {window} {}", quote(&literal(&pipe))),
        respawn,
        format!("display-message -p -t {window} '#{{pane_pid}}'"),
    ]
    .join("\n")
}

/// The text of an environment file for [`LOADER`]: one `export NAME='value'` a line.
pub(super) fn env_file_text(env: &[(String, String)]) -> String {
    env.iter()
        .map(|(name, value)| format!("export {name}={}\n", quote(value)))
        .collect()
}

/// Reads `PANE_DEAD STATUS SIGNAL`, where tmux leaves the last two empty when unknown.
fn parse_pane(line: &str) -> Pane {
    let mut fields = line.trim_end_matches('\n').split(' ');
    if fields.next() != Some("1") {
        return Pane::Alive;
    }
    let mut number = || fields.next().and_then(|field| field.parse::<i32>().ok());
    match (number(), number()) {
        (Some(code), _) => Pane::Dead(Exit::Code(code)),
        (None, Some(signal)) => Pane::Dead(Exit::Signal(signal)),
        (None, None) => Pane::Dead(Exit::Unknown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pane_states_are_read_from_tmux_formats() {
        assert_eq!(parse_pane("0  \n"), Pane::Alive);
        assert_eq!(parse_pane("1 3 \n"), Pane::Dead(Exit::Code(3)));
        assert_eq!(parse_pane("1  9\n"), Pane::Dead(Exit::Signal(9)));
        assert_eq!(parse_pane("1  \n"), Pane::Dead(Exit::Unknown));
    }

    #[test]
    fn the_env_file_quotes_every_value_for_sh() {
        let env = [
            ("A".to_owned(), "it's".to_owned()),
            ("B".to_owned(), "two\nlines; $x".to_owned()),
        ];
        assert_eq!(
            env_file_text(&env),
            "export A='it'\\''s'\nexport B='two\nlines; $x'\n"
        );
    }

    #[test]
    fn the_script_quotes_every_word() {
        let spec = ProcessSpec {
            id: "a.1".into(),
            program: "/bin/my prog".into(),
            args: vec!["it's".into()],
            env: vec![("K".into(), "v#1".into())],
            log_path: "/tmp/a.log".into(),
        };
        let script = respawn_script(
            "@7",
            &spec,
            Path::new("/tmp/x/pipe"),
            Path::new("/tmp/x/env"),
        );
        assert!(
            script.contains(r" 'sh' '/tmp/x/env' '/bin/my prog' 'it'\''s'"),
            "{script}"
        );
        assert!(!script.contains("v#1"), "values stay out of tmux: {script}");
        assert!(script.contains(r"pipe-pane -t @7 'exec cat >> '\''/tmp/x/pipe'\'''"));
    }
}
