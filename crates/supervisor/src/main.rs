//! The `supervisor` binary: arguments → config → tracing → listener → [`hero_supervisor::run`].

use std::path::{Path, PathBuf};
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
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: Args) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default_local(),
    };
    let mut secret_note = "secrets: as configured".to_owned();
    if config.admin_secrets.is_empty() && config.user_secrets.is_empty() {
        let (secret, note) = generated_admin_secret(&config.data_dir())?;
        config.admin_secrets.push(secret.into());
        secret_note = note;
    }
    config.check()?;
    let address = format!("{}:{}", config.bind_address, config.port);
    let listener = std::net::TcpListener::bind(&address)
        .with_context(|| format!("cannot listen on {address}"))?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let running = hero_supervisor::start(config, listener).await?;
        println!(
            "supervisor listening on http://{} (JSON-RPC over HTTP and WebSocket; GET /health)",
            running.address()
        );
        println!("{secret_note}");
        running.serve_until(shutdown_signal()).await;
        anyhow::Ok(())
    })
}

/// The admin secret kept in the data directory, created on first start, so the supervisor
/// never runs without authentication.
fn generated_admin_secret(data_dir: &Path) -> anyhow::Result<(String, String)> {
    let path = data_dir.join("admin_secret");
    let note = format!(
        "admin secret: no secrets configured, so use the one in {} (e.g. SECRET=$(cat {}))",
        path.display(),
        path.display()
    );
    if let Ok(secret) = std::fs::read_to_string(&path) {
        let secret = secret.trim().to_owned();
        if !secret.is_empty() {
            return Ok((secret, note));
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let secret = uuid::Uuid::new_v4().simple().to_string();
    write_private(&path, &secret).with_context(|| format!("cannot write {}", path.display()))?;
    Ok((secret, note))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler installs at start-up");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
