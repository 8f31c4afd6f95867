//! The subcommands about one job: `status`, `result`, `wait`, `stop`, `delete`, `retry`.

use hero_supervisor_openrpc_client::{ClientError, JobResult, JobStatusInfo};
use serde_json::json;

use crate::context::Context;
use crate::exit;
use crate::output;

/// A job id, the one argument of each job subcommand.
#[derive(Debug, clap::Args)]
pub(crate) struct Id {
    /// The job's id.
    id: String,
}

/// `job ID`: names the job in an error, since the supervisor's refusal may not.
impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "job {}", self.id)
    }
}

/// `hero status ID`: the status, times, attempt, progress and last error.
pub(crate) async fn status(ctx: &Context, id: &Id) -> anyhow::Result<u8> {
    let info = read_status(ctx, &id.id).await?;
    if ctx.json {
        output::json(&info)?;
    } else {
        show_status(&info)?;
    }
    Ok(exit::SUCCESS)
}

/// `hero result ID`: the result of a finished job; a job not finished yet is an error (exit 1)
/// that points to `hero wait`.
pub(crate) async fn result(ctx: &Context, id: &Id) -> anyhow::Result<u8> {
    let info = read_status(ctx, &id.id).await?;
    if !info.status.is_final() {
        anyhow::bail!(
            "still {}: `hero wait {}` waits for it to finish",
            info.status,
            id.id
        );
    }
    let result = read_result(ctx, &id.id).await?;
    output::result(&result, ctx.json)
}

/// `hero wait ID`: waits until the job is final, then shows its result.
pub(crate) async fn wait(ctx: &Context, id: &Id) -> anyhow::Result<u8> {
    loop {
        match read_result(ctx, &id.id).await {
            Ok(result) => return output::result(&result, ctx.json),
            // The server bounds one wait by the job's timeout; a job still queued behind
            // others is waited for again.
            Err(ClientError::WaitTimedOut { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
}

/// `hero stop ID`.
pub(crate) async fn stop(ctx: &Context, id: &Id) -> anyhow::Result<u8> {
    ctx.client.job_stop(ctx.secret()?, &id.id).await?;
    done(ctx, &id.id, "stopped")
}

/// `hero delete ID`.
pub(crate) async fn delete(ctx: &Context, id: &Id) -> anyhow::Result<u8> {
    ctx.client.job_delete(ctx.secret()?, &id.id).await?;
    done(ctx, &id.id, "deleted")
}

/// `hero retry ID`.
pub(crate) async fn retry(ctx: &Context, id: &Id) -> anyhow::Result<u8> {
    ctx.client.job_retry(ctx.secret()?, &id.id).await?;
    done(ctx, &id.id, "queued again")
}

fn done(ctx: &Context, id: &str, what: &str) -> anyhow::Result<u8> {
    if ctx.json {
        output::json(&json!({"job_id": id, "ok": true}))?;
    } else {
        output::line(&format!("{what} {id}"))?;
    }
    Ok(exit::SUCCESS)
}

async fn read_status(ctx: &Context, id: &str) -> Result<JobStatusInfo, ClientError> {
    match ctx.secret_if_any() {
        Some(secret) => ctx.client.job_status_with_secret(id, secret).await,
        None => ctx.client.job_status(id).await,
    }
}

async fn read_result(ctx: &Context, id: &str) -> Result<JobResult, ClientError> {
    match ctx.secret_if_any() {
        Some(secret) => ctx.client.job_result_with_secret(id, secret).await,
        None => ctx.client.job_result(id).await,
    }
}

fn show_status(info: &JobStatusInfo) -> std::io::Result<()> {
    let mut rows = vec![
        ("job", info.job_id.clone()),
        ("status", info.status.to_string()),
        ("created", output::time(info.created_at)),
        ("started", output::maybe_time(info.started_at)),
        ("completed", output::maybe_time(info.completed_at)),
    ];
    if info.attempt > 0 {
        rows.push(("attempt", info.attempt.to_string()));
    }
    if let Some(progress) = &info.progress {
        rows.push(("progress", output::progress(progress)));
    }
    if let Some(reason) = &info.reason {
        rows.push(("reason", reason.clone()));
    }
    if let Some(error) = &info.last_error {
        rows.push(("last error", error.clone()));
    }
    output::fields(&rows)
}
