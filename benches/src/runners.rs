//! The real runner processes a workload uses: which binary, what jobs it gets, and child
//! processes started with the supervisor's own flags and stopped when dropped.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Time a runner gets to finish after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The runner binaries the bench drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunnerKind {
    /// `examples/mock_runner`: echoes the payload, does no work.
    Mock,
    /// `osis_runner`: evaluates the payload as a sandboxed Rhai script.
    Osis,
}

impl RunnerKind {
    /// The binary's name, as printed.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Mock => "mock_runner",
            Self::Osis => "osis_runner",
        }
    }

    /// Where the binary is under `bin_dir` (`target/release`).
    pub(crate) fn binary(self, bin_dir: &Path) -> PathBuf {
        match self {
            Self::Mock => bin_dir.join("examples").join("mock_runner"),
            Self::Osis => bin_dir.join("osis_runner"),
        }
    }

    /// The job's `executor` field.
    pub(crate) fn executor(self) -> &'static str {
        match self {
            Self::Mock => "mock",
            Self::Osis => "osis",
        }
    }

    /// The payload of job number `n`.
    pub(crate) fn payload(self, n: usize) -> String {
        match self {
            Self::Mock => format!("job {n}"),
            Self::Osis => "40 + 2".into(),
        }
    }

    /// The output a successful job with `payload` has.
    pub(crate) fn expected_output(self, payload: &str) -> &str {
        match self {
            Self::Mock => payload,
            Self::Osis => "42",
        }
    }
}

/// How many runner processes serve a queue, and how many jobs each runs at once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub(crate) processes: usize,
    pub(crate) concurrency: usize,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}", self.processes, self.concurrency)
    }
}

/// How runners reach the store.
#[derive(Debug, Clone)]
pub(crate) enum Transport {
    /// Straight to Redis at this URL, given in `HERO_REDIS_URL`.
    Redis(String),
    /// Through the supervisor's runner socket at this path (`--supervisor unix://…`).
    Socket(PathBuf),
}

/// Where and under which names runners are started.
#[derive(Debug)]
pub(crate) struct Placement<'a> {
    pub(crate) transport: &'a Transport,
    pub(crate) namespace: &'a str,
    /// The queue (runner name) the processes claim from.
    pub(crate) queue: &'a str,
    /// Holds each process's `--db-path` and log file.
    pub(crate) work_dir: &'a Path,
}

/// Runner processes of one workload; dropping them kills any still running.
#[derive(Debug)]
pub(crate) struct Runners {
    children: Vec<Child>,
}

impl Runners {
    /// Starts `layout.processes` processes of `kind` as the supervisor would: `--id`,
    /// `--name`, `--db-path`, `--namespace`, and the Redis URL in `HERO_REDIS_URL` or the
    /// runner socket in `--supervisor`.
    ///
    /// # Errors
    ///
    /// A process cannot be started or its log file cannot be created; the ones already
    /// started are killed.
    pub(crate) fn start(
        kind: RunnerKind,
        bin_dir: &Path,
        layout: Layout,
        at: &Placement<'_>,
    ) -> anyhow::Result<Self> {
        Self::start_with_env(kind, bin_dir, layout, at, &[])
    }

    /// As [`Runners::start`], with `env` added to each process's environment (e.g.
    /// `mock_runner`'s `MOCK_JOB_SLEEP_MS`).
    ///
    /// # Errors
    ///
    /// As [`Runners::start`].
    pub(crate) fn start_with_env(
        kind: RunnerKind,
        bin_dir: &Path,
        layout: Layout,
        at: &Placement<'_>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let mut runners = Self {
            children: Vec::with_capacity(layout.processes),
        };
        for n in 1..=layout.processes {
            let id = format!("{}_{n}", at.queue);
            let log = at.work_dir.join(format!("{id}.log"));
            let log = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
            let binary = kind.binary(bin_dir);
            // Same process group as the bench: Ctrl-C in a terminal stops the runners too.
            let mut command = Command::new(&binary);
            command
                .args(["--id", &id, "--name", at.queue, "--namespace", at.namespace])
                .arg("--db-path")
                .arg(at.work_dir.join(&id))
                .args(["--concurrency", &layout.concurrency.to_string()])
                .envs(env.iter().copied());
            match at.transport {
                Transport::Redis(url) => command.env("HERO_REDIS_URL", url),
                Transport::Socket(path) => command
                    .arg("--supervisor")
                    .arg(format!("unix://{}", path.display())),
            };
            let child = command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting {}", binary.display()))?;
            runners.children.push(child);
        }
        Ok(runners)
    }

    /// The process ids, in start order.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }

    /// Sends SIGTERM to every process, then kills those still running after the grace.
    pub(crate) async fn stop(mut self) {
        for child in &self.children {
            if let Ok(pid) = i32::try_from(child.id()) {
                // A runner that already exited is reaped below; nothing to signal.
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline && !self.all_exited() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Drop kills and reaps whatever is left.
    }

    fn all_exited(&mut self) -> bool {
        self.children
            .iter_mut()
            .all(|c| matches!(c.try_wait(), Ok(Some(_)) | Err(_)))
    }
}

impl Drop for Runners {
    fn drop(&mut self) {
        for child in &mut self.children {
            // Killing an exited child fails harmlessly; waiting reaps it either way.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
