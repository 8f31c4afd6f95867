//! `hero runners` and `hero runner start|stop|status|logs NAME` (admin secret).

use anyhow::Context as _;
use futures::StreamExt as _;
use hero_supervisor_openrpc_client::RunnerInfo;
use serde_json::json;

use crate::context::Context;
use crate::exit;
use crate::output;

/// `hero runner …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Start a local runner, or let it be restarted again (`start_runner`).
    Start {
        /// The runner's name.
        name: String,
    },
    /// Stop a local runner (`stop_runner`).
    Stop {
        /// The runner's name.
        name: String,
        /// Kill it at once instead of letting its jobs finish.
        #[arg(long)]
        force: bool,
    },
    /// Show a runner's state (`get_runner_status`).
    Status {
        /// The runner's name.
        name: String,
    },
    /// Print a local runner's last log lines (`get_runner_logs`); with -f, follow new ones
    /// (`runner_logs.subscribe`).
    Logs {
        /// The runner's name.
        name: String,
        /// Keep printing lines as the runner writes them, until interrupted.
        #[arg(long, short)]
        follow: bool,
        /// How many of the last lines to print first.
        #[arg(long, short = 'n', default_value_t = 100)]
        lines: usize,
    },
}

/// `hero runners`: every runner as a table, or a JSON array.
pub(crate) async fn list(ctx: &Context) -> anyhow::Result<u8> {
    let runners = ctx.client.list_runners(ctx.secret()?).await?;
    if ctx.json {
        output::json(&runners)?;
        return Ok(exit::SUCCESS);
    }
    let mut table = output::table(&[
        "NAME", "STATUS", "KIND", "QUEUE", "QUEUED", "PID", "RESTARTS", "ACCESS",
    ]);
    for runner in &runners {
        table.add_row([
            runner.name.clone(),
            runner.status.as_str().to_owned(),
            output::wire(&runner.kind),
            runner.queue.clone(),
            runner.queue_length.to_string(),
            runner
                .pid
                .map_or_else(|| "-".to_owned(), |pid| pid.to_string()),
            runner.restarts.to_string(),
            output::wire(&runner.access),
        ]);
    }
    output::line(&output::table_text(&table))?;
    Ok(exit::SUCCESS)
}

/// `hero runner …`.
pub(crate) async fn run(ctx: &Context, command: Command) -> anyhow::Result<u8> {
    let name = match &command {
        Command::Start { name }
        | Command::Stop { name, .. }
        | Command::Status { name }
        | Command::Logs { name, .. } => name.clone(),
    };
    // The supervisor's refusal does not always repeat the name.
    act(ctx, command)
        .await
        .with_context(|| format!("runner {name}"))
}

async fn act(ctx: &Context, command: Command) -> anyhow::Result<u8> {
    let secret = ctx.secret()?;
    match command {
        Command::Start { name } => {
            ctx.client.start_runner(secret, &name).await?;
            done(ctx, &name, "started")
        }
        Command::Stop { name, force } => {
            ctx.client.stop_runner(secret, &name, force).await?;
            done(ctx, &name, "stopped")
        }
        Command::Status { name } => {
            let info = ctx.client.get_runner_status(secret, &name).await?;
            if ctx.json {
                output::json(&info)?;
            } else {
                show(&info)?;
            }
            Ok(exit::SUCCESS)
        }
        Command::Logs {
            name,
            follow: false,
            lines,
        } => {
            let lines = ctx
                .client
                .get_runner_logs(secret, &name, Some(lines))
                .await?;
            if ctx.json {
                output::json(&lines)?;
            } else {
                for line in &lines {
                    output::line(line)?;
                }
            }
            Ok(exit::SUCCESS)
        }
        Command::Logs {
            name,
            follow: true,
            lines,
        } => follow(ctx, secret, &name, lines).await,
    }
}

/// Prints the last `lines` lines, then each new one, until interrupted or the supervisor
/// ends the subscription (exit 3).
async fn follow(ctx: &Context, secret: &str, name: &str, lines: usize) -> anyhow::Result<u8> {
    let mut stream = ctx
        .client
        .runner_logs_subscribe(secret, name, Some(lines))
        .await?;
    while let Some(line) = stream.next().await {
        let line = line?;
        if ctx.json {
            output::json(&line)?;
        } else {
            output::line(&line)?;
        }
    }
    Ok(exit::SUCCESS)
}

fn done(ctx: &Context, name: &str, what: &str) -> anyhow::Result<u8> {
    if ctx.json {
        output::json(&json!({"runner": name, "ok": true}))?;
    } else {
        output::line(&format!("{what} {name}"))?;
    }
    Ok(exit::SUCCESS)
}

fn show(info: &RunnerInfo) -> std::io::Result<()> {
    let mut rows = vec![
        ("name", info.name.clone()),
        ("status", info.status.as_str().to_owned()),
        ("kind", output::wire(&info.kind)),
        ("queue", info.queue.clone()),
        ("queued", info.queue_length.to_string()),
        ("access", output::wire(&info.access)),
        ("restarts", info.restarts.to_string()),
    ];
    if let Some(pid) = info.pid {
        rows.push(("pid", pid.to_string()));
    }
    if let Some(manager) = &info.process_manager {
        rows.push(("process manager", manager.clone()));
    }
    if let Some(exit) = &info.last_exit {
        rows.push(("last exit", exit.clone()));
    }
    if let Some(seen) = info.last_seen {
        rows.push(("last seen", output::time(seen)));
    }
    output::fields(&rows)
}
