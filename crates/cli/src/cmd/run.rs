//! `hero run`: submit one job and wait for its result (`job.run`).
//!
//! The payload is the argument, the file of `--file`, or stdin (`-`, or no argument while
//! stdin is not a terminal).

use std::io::{IsTerminal as _, Read as _};
use std::path::PathBuf;

use anyhow::Context as _;
use hero_supervisor_openrpc_client::JobBuilder;

use crate::context::Context;
use crate::exit::Usage;
use crate::output;

/// Arguments of `hero run`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The script to run; `-` reads it from stdin.
    #[arg(conflicts_with = "file")]
    payload: Option<String>,
    /// Read the script from this file.
    #[arg(long, short)]
    file: Option<PathBuf>,
    /// The runner (queue) to run it on.
    #[arg(long, short, env = "HERO_RUNNER", default_value = "osis_runner_1")]
    runner: String,
    /// The kind of runner the payload is for.
    #[arg(long, short, env = "HERO_EXECUTOR", default_value = "osis")]
    executor: String,
    /// Seconds the job may run before it is interrupted and failed (the supervisor's default
    /// when absent, 60).
    #[arg(long, short)]
    timeout: Option<u64>,
    /// The job's `caller_id`.
    #[arg(long)]
    caller_id: Option<String>,
    /// The job's `context_id`.
    #[arg(long)]
    context_id: Option<String>,
}

/// Runs the job; exit status 1 when it failed or was stopped.
pub(crate) async fn run(ctx: &Context, args: Args) -> anyhow::Result<u8> {
    let payload = payload(&args)?;
    if payload.trim().is_empty() {
        return Err(Usage("the payload is empty".into()).into());
    }
    let mut job = JobBuilder::new()
        .payload(payload)
        .runner(&args.runner)
        .executor(&args.executor);
    if let Some(secs) = args.timeout {
        job = job.timeout(secs);
    }
    if let Some(caller) = &args.caller_id {
        job = job.caller_id(caller);
    }
    if let Some(context) = &args.context_id {
        job = job.context_id(context);
    }
    // Only the command line can make a job invalid here: a usage error.
    let job = job
        .build()
        .map_err(|e| Usage(format!("invalid job: {e}")))?;
    let result = ctx.client.job_run(ctx.secret()?, job).await?;
    output::result(&result, ctx.json)
}

fn payload(args: &Args) -> anyhow::Result<String> {
    if let Some(path) = &args.file {
        return std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()));
    }
    match args.payload.as_deref() {
        Some("-") => read_stdin(),
        Some(payload) => Ok(payload.to_owned()),
        None if !std::io::stdin().is_terminal() => read_stdin(),
        None => Err(Usage(
            "no payload: give it as an argument, with --file PATH, or on stdin".into(),
        )
        .into()),
    }
}

fn read_stdin() -> anyhow::Result<String> {
    let mut payload = String::new();
    std::io::stdin()
        .read_to_string(&mut payload)
        .context("cannot read the payload from stdin")?;
    Ok(payload)
}
