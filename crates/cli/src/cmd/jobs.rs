//! `hero jobs`: the jobs the secret may see, newest first, filtered (`jobs.list`).

use hero_supervisor_openrpc_client::{JobStatus, ListFilter, StatusFilter};

use crate::context::Context;
use crate::exit;
use crate::output;

/// Arguments of `hero jobs`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only jobs with this status; repeat it or separate with commas for several
    /// (created, scheduled, queued, running, completed, failed, stopped).
    #[arg(long, short, value_delimiter = ',')]
    status: Vec<JobStatus>,
    /// Only jobs submitted to this runner.
    #[arg(long, short)]
    runner: Option<String>,
    /// Only jobs with this `caller_id`.
    #[arg(long)]
    caller_id: Option<String>,
    /// Only jobs with this `context_id`.
    #[arg(long)]
    context_id: Option<String>,
    /// The most jobs shown, 1 to 10,000.
    #[arg(long, short, default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    limit: u64,
    /// Only jobs created before this job id: the page after a page that ended with it.
    #[arg(long)]
    before: Option<String>,
}

/// Lists the jobs as a table, or as a JSON array with `--json`.
pub(crate) async fn run(ctx: &Context, args: Args) -> anyhow::Result<u8> {
    let status = match args.status.len() {
        0 => None,
        1 => Some(StatusFilter::One(args.status[0])),
        _ => Some(StatusFilter::Many(args.status)),
    };
    let filter = ListFilter {
        status,
        runner: args.runner,
        caller_id: args.caller_id,
        context_id: args.context_id,
        limit: Some(args.limit),
        before: args.before,
    };
    let jobs = ctx
        .client
        .jobs_list_filtered(ctx.secret()?, &filter)
        .await?;
    if ctx.json {
        output::json(&jobs)?;
        return Ok(exit::SUCCESS);
    }
    let mut table = output::table(&["ID", "STATUS", "RUNNER", "CREATED", "PAYLOAD"]);
    for record in &jobs {
        table.add_row([
            record.job.id.clone(),
            record.status.to_string(),
            record.job.runner.clone(),
            output::time(record.job.created_at),
            output::short(&record.job.payload, 40),
        ]);
    }
    output::line(&output::table_text(&table))?;
    if let Some(last) = jobs.last().filter(|_| jobs.len() as u64 == args.limit) {
        eprintln!(
            "(the first {} jobs; more with --before {})",
            jobs.len(),
            last.job.id
        );
    }
    Ok(exit::SUCCESS)
}
