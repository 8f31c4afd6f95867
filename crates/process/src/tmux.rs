//! The `tmux:SESSION` backend: each run in a fresh window of the session, its output piped
//! through a FIFO into the same log pipeline as the `simple` backend.
//!
//! The FIFO is opened read-write by the manager, so it never reports end of output between
//! runs and a window's `cat` never blocks opening it. If the manager dies, that `cat` gets
//! SIGPIPE and the runner keeps running in its window, visible to `tmux attach`.
//!
//! The window's program gets the spec's environment only, never the tmux server's: each
//! launch writes it to a file beside the FIFO, which the window reads and removes.

mod command;
mod window;

use std::path::PathBuf;

use nix::sys::signal::{Signal, killpg};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use tokio::net::unix::pipe;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

use crate::backend::Launcher;
use crate::logs::{Logs, pump};
use crate::{Error, ProcessSpec};
use command::Tmux;
use window::TmuxWindow;

/// Name of the window created with a new session, which keeps the session alive between runs.
const PLACEHOLDER_WINDOW: &str = "hero";

/// Starts a [`TmuxWindow`] per launch, all piped into the same [`Logs`].
#[derive(Debug)]
pub(crate) struct TmuxLauncher {
    spec: ProcessSpec,
    tmux: Tmux,
    session: String,
    logs: Logs,
    /// Created at the first launch and kept for the launcher's life.
    output: Option<OutputPipe>,
    /// Numbers each launch's environment file.
    launches: u64,
}

/// The FIFO windows write to, and the task reading it into the logs.
#[derive(Debug)]
struct OutputPipe {
    path: PathBuf,
    /// A private directory (mode 0700), so that nobody else can open the FIFO or read the
    /// environment files.
    dir: tempfile::TempDir,
    /// The FIFO never ends, so its reader runs until the launcher is dropped.
    _pump: AbortOnDropHandle<()>,
}

impl TmuxLauncher {
    pub(crate) fn new(
        spec: ProcessSpec,
        session: String,
        socket: Option<String>,
        logs: Logs,
    ) -> Self {
        Self {
            spec,
            tmux: Tmux::new(socket),
            session,
            logs,
            output: None,
            launches: 0,
        }
    }

    fn output(&mut self) -> Result<&OutputPipe, Error> {
        let output = match self.output.take() {
            Some(output) => output,
            None => OutputPipe::open(&self.spec.id, &self.logs).map_err(|source| Error::Pipe {
                id: self.spec.id.clone(),
                source,
            })?,
        };
        Ok(self.output.insert(output))
    }

    /// Writes the environment of the next launch to a new file (mode 0600) in the private
    /// directory.
    fn env_file(&mut self) -> Result<PathBuf, Error> {
        let text = window::env_file_text(&self.spec.environment()?);
        self.launches += 1;
        let name = format!("env-{}", self.launches);
        let path = self.output()?.dir.path().join(name);
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)?
                .write_all(text.as_bytes())
        };
        write().map_err(|source| Error::Pipe {
            id: self.spec.id.clone(),
            source,
        })?;
        Ok(path)
    }

    fn error(&self, command: &'static str) -> impl FnOnce(std::io::Error) -> Error + use<'_> {
        move |source| Error::Tmux {
            id: self.spec.id.clone(),
            session: self.session.clone(),
            command,
            source,
        }
    }

    /// Creates the session with its placeholder window unless it exists.
    async fn ensure_session(&self) -> Result<(), Error> {
        let target = format!("={}", self.session);
        let has_session = ["has-session", "-t", &target];
        let exists = || self.tmux.run(&has_session);
        if exists().await.is_ok() {
            return Ok(());
        }
        let created = self
            .tmux
            .run(&[
                "new-session",
                "-d",
                "-s",
                &self.session,
                "-n",
                PLACEHOLDER_WINDOW,
            ])
            .await;
        match created {
            Ok(_) => {
                tracing::info!(session = %self.session, "created tmux session");
                Ok(())
            }
            // Another manager may have created it in the meantime.
            Err(_) if exists().await.is_ok() => Ok(()),
            Err(source) => Err(self.error("new-session")(source)),
        }
    }

    /// Kills windows named after this process that an earlier run left behind.
    async fn remove_stale_windows(&self) -> Result<(), Error> {
        let format = "#{window_id} #{pane_pid} #{pane_dead} #{window_name}";
        let target = format!("={}", self.session);
        let windows = self
            .tmux
            .run(&["list-windows", "-t", &target, "-F", format])
            .await
            .map_err(self.error("list-windows"))?;
        for line in windows.lines() {
            let mut fields = line.splitn(4, ' ');
            let (Some(window), Some(pid), Some(dead), Some(name)) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if name != self.spec.id {
                continue;
            }
            tracing::warn!(id = %self.spec.id, %window, "replacing a window left by an earlier run");
            if let (Ok(pid), "0") = (pid.parse(), dead) {
                // Tmux says the pane's process is alive: its group is the stale runner.
                if let Err(error) = killpg(Pid::from_raw(pid), Signal::SIGKILL) {
                    tracing::warn!(id = %self.spec.id, %error, "cannot kill the stale runner");
                }
            }
            // Without remain-on-exit, the window may have closed with its process already.
            let _ = self.tmux.run(&["kill-window", "-t", window]).await;
        }
        Ok(())
    }
}

impl Launcher for TmuxLauncher {
    type Process = TmuxWindow;

    async fn launch(&mut self) -> Result<TmuxWindow, Error> {
        let fifo = self.output()?.path.clone();
        self.ensure_session().await?;
        self.remove_stale_windows().await?;
        let env_file = self.env_file()?;
        let window = TmuxWindow::open(&self.tmux, &self.session, &self.spec, &fifo, &env_file);
        let window = window.await;
        if window.is_err() {
            // The window never read it; a missing file is what we want.
            let _ = std::fs::remove_file(&env_file);
        }
        window
    }
}

impl OutputPipe {
    fn open(id: &str, logs: &Logs) -> std::io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("hero-process-").tempdir()?;
        let path = dir.path().join("output");
        nix::unistd::mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR)?;
        let receiver = pipe::OpenOptions::new()
            .read_write(true)
            .open_receiver(&path)?;
        let span = tracing::info_span!("logs", %id);
        let pump = tokio::spawn(pump(receiver, logs.clone()).instrument(span));
        Ok(Self {
            path,
            dir,
            _pump: AbortOnDropHandle::new(pump),
        })
    }
}
