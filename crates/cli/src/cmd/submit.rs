//! `hero submit FILE.jsonl`: many jobs, one per line, sent with `jobs.create_many` in chunks.
//!
//! A line that cannot be read as a job, or that the supervisor refuses, is set aside with its
//! line number and reason; the other lines are still submitted. `jobs.create_many` stores all
//! of a chunk or none of it and names the refused job's index, so a refused job is taken out
//! of its chunk and the rest sent again. A chunk larger than the server allows is made
//! smaller, to the limit its error names.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal as _};
use std::path::PathBuf;

use anyhow::Context as _;
use hero_supervisor_openrpc_client::{ClientError, Job, codes};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::Value;

use crate::context::Context;
use crate::exit;
use crate::output;

/// The RPC library's code for a request body over the server's size limit.
const OVERSIZED_REQUEST: i32 = -32007;

/// Arguments of `hero submit`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The JSON Lines file: one job object per line (`payload`, and `runner` and `executor`
    /// unless given below); `-` reads stdin. Blank lines are skipped.
    file: PathBuf,
    /// Jobs per `jobs.create_many` call; lowered to the supervisor's limit when it is smaller.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    chunk: u64,
    /// The runner of lines that name none.
    #[arg(long, short)]
    runner: Option<String>,
    /// The executor of lines that name none.
    #[arg(long, short)]
    executor: Option<String>,
    /// Store the jobs as `created` without queuing them (`job.start` queues each later).
    #[arg(long)]
    no_start: bool,
}

/// A line set aside, and why.
#[derive(Debug, Serialize)]
struct Refused {
    line: u64,
    reason: String,
}

/// A job read from a line, waiting to be sent.
struct Pending {
    line: u64,
    job: Job,
}

/// What `hero submit` did: printed at the end.
#[derive(Debug, Default, Serialize)]
struct Summary {
    submitted: u64,
    ids: Vec<String>,
    refused: Vec<Refused>,
}

/// Reads, sends and summarises; exit status 1 when any line was refused.
pub(crate) async fn run(ctx: &Context, args: Args) -> anyhow::Result<u8> {
    let secret = ctx.secret()?;
    let (reader, size) = open(&args.file)?;
    let mut sender = Sender {
        ctx,
        secret,
        start: !args.no_start,
        chunk: usize::try_from(args.chunk).unwrap_or(usize::MAX),
        summary: Summary::default(),
        unknown_runners: BTreeMap::new(),
        bar: progress_bar(size),
    };
    let read = sender.submit_lines(reader, &args).await;
    sender.bar.finish_and_clear();
    let summary = sender.summary;
    // What was stored stays stored: say so even when a later chunk could not be sent.
    show(ctx, &summary)?;
    read?;
    Ok(if summary.refused.is_empty() {
        exit::SUCCESS
    } else {
        exit::FAILED
    })
}

fn open(path: &PathBuf) -> anyhow::Result<(Box<dyn BufRead>, Option<u64>)> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(BufReader::new(std::io::stdin())), None));
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = file.metadata().ok().map(|m| m.len());
    Ok((Box::new(BufReader::new(file)), size))
}

/// A bar over the input's bytes on stderr, drawn only when stderr is a terminal.
fn progress_bar(size: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match size {
        Some(bytes) => ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = if size.is_some() {
        "{bar:40} {percent:>3}% {msg} [{elapsed_precise}, {eta} left]"
    } else {
        "{spinner} {msg} [{elapsed_precise}]"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

struct Sender<'a> {
    ctx: &'a Context,
    secret: &'a str,
    start: bool,
    /// Jobs per call; lowered when the server refuses as many.
    chunk: usize,
    summary: Summary,
    /// Runners the server does not know, with its reason: later lines naming them are
    /// refused without a call each.
    unknown_runners: BTreeMap<String, String>,
    bar: ProgressBar,
}

impl Sender<'_> {
    async fn submit_lines(&mut self, reader: Box<dyn BufRead>, args: &Args) -> anyhow::Result<()> {
        let mut pending = Vec::new();
        for (index, line) in reader.lines().enumerate() {
            let number = index as u64 + 1;
            let line = line.with_context(|| format!("cannot read line {number}"))?;
            self.bar.inc(line.len() as u64 + 1);
            if line.trim().is_empty() {
                continue;
            }
            match parse(&line, args) {
                Ok(job) => pending.push(Pending { line: number, job }),
                Err(reason) => self.refuse(number, reason),
            }
            if pending.len() >= self.chunk {
                self.send(std::mem::take(&mut pending)).await?;
            }
        }
        self.send(pending).await
    }

    /// Sends `pending` in calls of at most `self.chunk` jobs, taking refused jobs out.
    async fn send(&mut self, pending: Vec<Pending>) -> anyhow::Result<()> {
        let mut known = Vec::with_capacity(pending.len());
        for p in pending {
            match self.unknown_runners.get(&p.job.runner) {
                Some(reason) => {
                    let reason = reason.clone();
                    self.refuse(p.line, reason);
                }
                None => known.push(p),
            }
        }
        let mut pending = known;
        while !pending.is_empty() {
            let count = self.chunk.min(pending.len());
            let jobs: Vec<Job> = pending[..count].iter().map(|p| p.job.clone()).collect();
            match self
                .ctx
                .client
                .jobs_create_many(self.secret, jobs, self.start)
                .await
            {
                Ok(ids) => {
                    pending.drain(..count);
                    self.summary.submitted += ids.len() as u64;
                    self.summary.ids.extend(ids);
                    self.bar
                        .set_message(format!("{} submitted", self.summary.submitted));
                }
                Err(error) => self.recover(error, &mut pending, count)?,
            }
        }
        Ok(())
    }

    /// Handles a refused call of the first `count` of `pending`: sets the refused job aside,
    /// or makes the chunk smaller; any other error ends the submission.
    fn recover(
        &mut self,
        error: ClientError,
        pending: &mut Vec<Pending>,
        count: usize,
    ) -> anyhow::Result<()> {
        if let Some((index, reason)) = refused_job(&error).filter(|(i, _)| *i < count) {
            let refused = pending.remove(index);
            if error.code() == Some(codes::NOT_FOUND) && reason.contains(&refused.job.runner) {
                self.unknown_runners
                    .insert(refused.job.runner.clone(), reason.clone());
                let runner = refused.job.runner;
                pending.retain(|p| {
                    let same = p.job.runner == runner;
                    if same {
                        self.refuse(p.line, reason.clone());
                    }
                    !same
                });
            }
            self.refuse(refused.line, reason);
            return Ok(());
        }
        if let Some(limit) = too_many(&error, count) {
            self.chunk = limit;
            return Ok(());
        }
        Err(error).context(format!(
            "submitting the job of line {}",
            pending.first().map_or(0, |p| p.line)
        ))
    }

    fn refuse(&mut self, line: u64, reason: String) {
        self.summary.refused.push(Refused { line, reason });
    }
}

/// A line as a job: a JSON object, `runner` and `executor` filled in from the flags when the
/// line names none.
fn parse(line: &str, args: &Args) -> Result<Job, String> {
    let mut value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Some(object) = value.as_object_mut() else {
        return Err("not a JSON object".to_owned());
    };
    for (field, default) in [("runner", &args.runner), ("executor", &args.executor)] {
        if let Some(default) = default {
            object
                .entry(field)
                .or_insert_with(|| Value::from(default.as_str()));
        }
    }
    serde_json::from_value(value).map_err(|e| format!("not a job: {e}"))
}

/// The index and reason of the one job a `jobs.create_many` call refused, from the server's
/// `jobs[INDEX]: reason`; `None` for an error about the whole call (a bad secret, the store
/// down), which no line is to blame for.
fn refused_job(error: &ClientError) -> Option<(usize, String)> {
    let message = match error {
        ClientError::InvalidParams { message }
        | ClientError::NotFound { message }
        | ClientError::Conflict { message }
        | ClientError::Unauthorized { message } => message,
        _ => return None,
    };
    let rest = message.strip_prefix("jobs[")?;
    let (index, reason) = rest.split_once("]: ")?;
    Some((index.parse().ok()?, reason.to_owned()))
}

/// The smaller chunk to try when the call of `count` jobs was too large: the limit the server
/// named, else half; `None` when it was not that, or one job is already too large.
fn too_many(error: &ClientError, count: usize) -> Option<usize> {
    let smaller = match error {
        ClientError::InvalidParams { message } if message.contains("jobs in one call") => {
            let named = message
                .rsplit_once("at most ")
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .and_then(|n| n.parse::<usize>().ok());
            named.unwrap_or(count / 2)
        }
        ClientError::Rpc { code, .. } if *code == OVERSIZED_REQUEST => count / 2,
        _ => return None,
    };
    (1..count).contains(&smaller).then_some(smaller)
}

fn show(ctx: &Context, summary: &Summary) -> anyhow::Result<()> {
    if ctx.json {
        return output::json(summary);
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let submitted = summary.ids.len();
    output::line(&format!("submitted {submitted} job{}", plural(submitted)))?;
    if !summary.refused.is_empty() {
        let refused = summary.refused.len();
        output::line(&format!("refused {refused} line{}:", plural(refused)))?;
        let mut refused: Vec<&Refused> = summary.refused.iter().collect();
        refused.sort_by_key(|r| r.line);
        for r in refused {
            output::line(&format!("  line {}: {}", r.line, r.reason))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refused_job_is_read_from_the_servers_message() {
        let error = ClientError::InvalidParams {
            message: "jobs[3]: payload: must not be empty".into(),
        };
        assert_eq!(
            refused_job(&error),
            Some((3, "payload: must not be empty".to_owned()))
        );
        let whole = ClientError::Unauthorized {
            message: "unknown secret".into(),
        };
        assert_eq!(refused_job(&whole), None);
    }

    #[test]
    fn a_chunk_too_large_shrinks_to_the_named_limit_or_half() {
        let named = ClientError::InvalidParams {
            message: "invalid params: 1000 jobs in one call; at most 300 are accepted".into(),
        };
        assert_eq!(too_many(&named, 1000), Some(300));
        let oversized = ClientError::Rpc {
            code: OVERSIZED_REQUEST,
            message: "request too big".into(),
        };
        assert_eq!(too_many(&oversized, 1000), Some(500));
        assert_eq!(too_many(&oversized, 1), None);
        let other = ClientError::InvalidParams {
            message: "jobs[0]: bad".into(),
        };
        assert_eq!(too_many(&other, 10), None);
    }
}
