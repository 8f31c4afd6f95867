//! The `supervisor` binary: arguments → config → tracing → listener → [`hero_supervisor::run`].

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use hero_supervisor::Config;

/// Runs jobs on supervised runners, driven through a JSON-RPC API.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// TOML configuration file. Without it: the local Redis, one `osis_runner_1` runner and
    /// a generated admin secret in the data directory.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    one_malloc_arena();
    let args = Args::parse();
    init_logs();
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Makes every thread allocate from glibc's one main arena, unless `MALLOC_ARENA_MAX` says
/// otherwise; called before any thread starts.
///
/// With an arena per thread, the memory a large answer freed is scattered over several
/// arenas, and what the trimming task (`memory.rs`) cannot give back stays resident: the
/// supervisor's memory then depends on the largest answer it ever built instead of on what
/// it holds. Per-thread caches serve most small allocations without the arena's lock, and
/// `docs/benchmarks.md` ("Jobs at scale") shows no change in the API's latency.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        #[allow(unsafe_code)]
        // SAFETY: mallopt takes two integers and no pointer; it runs here before any other
        // thread exists, as glibc requires for changing the arena limit.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

/// Logs to stderr at `RUST_LOG` (default `info`), except the RPC library's trace events:
/// they are request and response bodies, which carry secrets.
fn init_logs() {
    use tracing_subscriber::prelude::*;
    let env = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let no_bodies = tracing_subscriber::filter::filter_fn(|meta| {
        !(meta.target().starts_with("jsonrpsee") && *meta.level() == tracing::Level::TRACE)
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        // With stderr closed, reporting a failed write would write to stderr again and panic
        // whichever task logged; the supervisor must serve on.
        .log_internal_errors(false)
        .with_filter(env)
        .with_filter(no_bodies);
    tracing_subscriber::registry().with(layer).init();
}

fn serve(args: Args) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default_local(),
    };
    config.load_secrets()?;
    let secret_note = match config.ensure_admin_secret()? {
        Some(path) => format!(
            "admin secret: no secrets configured, so use the one in {} (e.g. SECRET=$(cat {}))",
            path.display(),
            path.display()
        ),
        None => "secrets: as configured".to_owned(),
    };
    config.check()?;
    let address = format!("{}:{}", config.bind_address, config.port);
    let listener = std::net::TcpListener::bind(&address)
        .with_context(|| format!("cannot listen on {address}"))?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let running = hero_supervisor::start(config, listener).await?;
        let url = running.url();
        say(&format!(
            "supervisor listening on {url} (JSON-RPC over HTTP and WebSocket; dashboard at \
             {url}/, metrics at {url}/metrics, GET /health)"
        ));
        say(&secret_note);
        running.serve_until(shutdown_signal()).await;
        anyhow::Ok(())
    })
}

/// Prints a line for the operator. A closed stdout (`supervisor | head -1`, a gone terminal)
/// must not stop a running supervisor, so a failed write is ignored: the logs say the same.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler installs at start-up");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
