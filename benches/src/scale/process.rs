//! The supervisor under the scale workload: the release `supervisor` binary as a child
//! process, so the memory read from `/proc/PID/status` is the supervisor's alone.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use hero_supervisor_openrpc_client::SupervisorClient;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

/// The admin secret the scale workload's supervisor accepts (`get_supervisor_info`).
pub(crate) const ADMIN_SECRET: &str = "bench-admin-secret";

/// Time allowed for the supervisor to print where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// Time the supervisor gets to shut down after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What the kernel says about a process's memory, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Memory {
    /// Resident set size now (`VmRSS`).
    pub(crate) rss_kib: u64,
    /// The largest resident set size so far (`VmHWM`).
    pub(crate) peak_kib: u64,
}

/// A running `supervisor` process; dropping it kills it.
pub(crate) struct SupervisorProcess {
    child: Child,
    /// Kept open: the supervisor's start-up lines are read from it, and a closed pipe would
    /// turn its later writes into errors.
    _stdout: BufReader<ChildStdout>,
    pub(crate) client: SupervisorClient,
    pub(crate) url: String,
}

impl SupervisorProcess {
    /// Starts `bin_dir/supervisor --config` with a config written into `work_dir`, serving
    /// on a free port of 127.0.0.1 over Redis `redis_url` under `namespace`, with the
    /// bench's user secret and [`ADMIN_SECRET`], no actors, and jobs accepted for runners not
    /// yet seen. Its log (level `warn`) goes to `work_dir/supervisor.log`.
    ///
    /// # Errors
    ///
    /// A file cannot be written, the binary cannot be started, or it does not print where
    /// it listens within [`START_TIMEOUT`].
    pub(crate) async fn start(
        bin_dir: &Path,
        redis_url: &str,
        namespace: &str,
        work_dir: &Path,
    ) -> anyhow::Result<Self> {
        let data_dir = work_dir.join("supervisor");
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let config = work_dir.join("supervisor.toml");
        std::fs::write(&config, config_toml(redis_url, namespace, &data_dir))
            .with_context(|| format!("writing {}", config.display()))?;
        let log_path = work_dir.join("supervisor.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let binary = bin_dir.join("supervisor");
        let mut child = Command::new(&binary)
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child
            .stdout
            .take()
            .context("the supervisor's stdout is piped")?;
        let mut stdout = BufReader::new(stdout);
        let url = tokio::time::timeout(START_TIMEOUT, listening_url(&mut stdout))
            .await
            .with_context(|| {
                format!(
                    "the supervisor did not say where it listens within {START_TIMEOUT:?}; see {}",
                    log_path.display()
                )
            })??;
        Ok(Self {
            client: SupervisorClient::new(&url)?,
            url,
            child,
            _stdout: stdout,
        })
    }

    /// The process id, while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The supervisor's memory now.
    ///
    /// # Errors
    ///
    /// The process is gone or `/proc` cannot be read.
    pub(crate) fn memory(&self) -> anyhow::Result<Memory> {
        let pid = self.child.id().context("the supervisor has exited")?;
        let path = format!("/proc/{pid}/status");
        let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        parse_memory(&status).with_context(|| format!("no VmRSS/VmHWM in {path}"))
    }

    /// Sends SIGTERM and waits for the exit, killing the process after [`STOP_GRACE`].
    pub(crate) async fn stop(mut self) {
        if let Some(pid) = self.child.id().and_then(|id| i32::try_from(id).ok()) {
            // An already exited supervisor is reaped below; nothing to signal.
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let started = Instant::now();
        if tokio::time::timeout(STOP_GRACE, self.child.wait())
            .await
            .is_err()
        {
            eprintln!(
                "the supervisor did not stop within {:?}; killing it",
                started.elapsed()
            );
            // Killing fails only when it exited meanwhile, which is what was wanted.
            let _ = self.child.kill().await;
        }
    }
}

fn config_toml(redis_url: &str, namespace: &str, data_dir: &Path) -> String {
    // Debug formatting quotes and escapes each value as a TOML basic string needs.
    format!(
        "redis_url = {redis_url:?}\n\
         namespace = {namespace:?}\n\
         bind_address = \"127.0.0.1\"\n\
         port = 0\n\
         admin_secrets = [{ADMIN_SECRET:?}]\n\
         user_secrets = [{:?}]\n\
         data_dir = {:?}\n\
         accept_unknown_runners = true\n",
        crate::supervisor::SECRET,
        data_dir.display().to_string(),
    )
}

/// Reads stdout up to the line `supervisor listening on URL (…)` and returns the URL.
async fn listening_url(stdout: &mut BufReader<ChildStdout>) -> anyhow::Result<String> {
    let mut line = String::new();
    loop {
        line.clear();
        let read = stdout
            .read_line(&mut line)
            .await
            .context("reading the supervisor's output")?;
        anyhow::ensure!(read > 0, "the supervisor exited before listening");
        if let Some(rest) = line.strip_prefix("supervisor listening on ") {
            let url = rest.split_whitespace().next().unwrap_or_default();
            anyhow::ensure!(!url.is_empty(), "no URL in {line:?}");
            return Ok(url.to_owned());
        }
    }
}

fn parse_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_read_from_proc_status_lines() {
        let status =
            "Name:\tsupervisor\nVmPeak:\t  900 kB\nVmHWM:\t   15360 kB\nVmRSS:\t   14336 kB\n";
        let memory = parse_memory(status).unwrap();
        assert_eq!(memory.rss_kib, 14_336);
        assert_eq!(memory.peak_kib, 15_360);
        assert!(parse_memory("Name:\tx\n").is_none());
    }

    #[test]
    fn the_config_is_toml_holding_the_values_given() {
        let text = config_toml("redis://127.0.0.1:1/", "ns", Path::new("/tmp/a \"b\""));
        let table: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(table["data_dir"].as_str(), Some("/tmp/a \"b\""));
        assert_eq!(table["namespace"].as_str(), Some("ns"));
        assert_eq!(table["port"].as_integer(), Some(0));
    }
}
