//! Filling the store: jobs submitted through `jobs.create_many` and run to their end by a
//! `mock_runner`, in a fixed mix: 98 in 100 complete, 1 fails (an executor the runner does
//! not run, which it refuses), 1 stays queued on a queue no runner takes from.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt, stream};
use hero_supervisor_openrpc_client::{Job, JobBuilder, SupervisorClient};
use redis::AsyncCommands;

use crate::supervisor::SECRET;

/// Jobs per `jobs.create_many` call: the baseline's 1,000 jobs are one call, so every call
/// of the run is the same size and only the number of jobs stored differs between the two.
const CHUNK: usize = 1_000;

/// `jobs.create_many` calls in flight, so the supervisor and Redis work at the same time.
const IN_FLIGHT: usize = 2;

/// Longest time without a job ending, while some are still due to, before the fill counts
/// as stuck.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Time between progress lines.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Time between two reads of how many jobs ended.
const POLL_EVERY: Duration = Duration::from_millis(250);

/// How job number `n` ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    Completed,
    Failed,
    Queued,
}

impl Fate {
    pub(crate) fn of(n: usize) -> Self {
        match n % 100 {
            98 => Self::Failed,
            99 => Self::Queued,
            _ => Self::Completed,
        }
    }
}

/// Where the jobs go.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub(crate) client: &'a SupervisorClient,
    pub(crate) redis: &'a redis::aio::MultiplexedConnection,
    pub(crate) namespace: &'a str,
    /// The queue the `mock_runner` drains.
    pub(crate) queue: &'a str,
    /// The queue nobody drains.
    pub(crate) idle_queue: &'a str,
}

impl Target<'_> {
    /// Job number `n`: a `mock` job whose output is its payload, on the queue its
    /// [`Fate`] needs.
    pub(crate) fn job(&self, n: usize) -> anyhow::Result<Job> {
        let (executor, runner) = match Fate::of(n) {
            Fate::Completed => ("mock", self.queue),
            Fate::Failed => ("none", self.queue),
            Fate::Queued => ("mock", self.idle_queue),
        };
        Ok(JobBuilder::new()
            .caller_id("hero-bench")
            .context_id(format!("scale-{}", n % 16))
            .payload(format!("job {n}"))
            .executor(executor)
            .runner(runner)
            .timeout(300)
            .build()?)
    }

    /// Jobs ended (completed or failed), read from the status indexes.
    pub(crate) async fn ended(&self) -> anyhow::Result<usize> {
        let mut conn = self.redis.clone();
        let mut total = 0;
        for status in ["completed", "failed"] {
            let key = format!("{}:v1:idx:status:{status}", self.namespace);
            let n: usize = conn
                .zcard(&key)
                .await
                .with_context(|| format!("ZCARD {key}"))?;
            total += n;
        }
        Ok(total)
    }
}

/// Submits jobs `from..to` and waits until every one that should end has ended; prints
/// progress on the way.
///
/// # Errors
///
/// A call fails, or no job ends for [`STALL_TIMEOUT`] while some are due to.
pub(crate) async fn grow(target: &Target<'_>, from: usize, to: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut last_print = Instant::now();
    let mut created = from;
    let mut calls = stream::iter((from..to).step_by(CHUNK))
        .map(|start| submit(target, start, to.min(start + CHUNK)))
        .buffered(IN_FLIGHT);
    while let Some(len) = calls.try_next().await? {
        created += len;
        if last_print.elapsed() >= PROGRESS_EVERY {
            last_print = Instant::now();
            progress(target, created, to, started).await?;
        }
    }
    let due = (0..to).filter(|&n| Fate::of(n) != Fate::Queued).count();
    let mut ended = target.ended().await?;
    let mut last_change = Instant::now();
    while ended < due {
        tokio::time::sleep(POLL_EVERY).await;
        let now = target.ended().await?;
        if now > ended {
            last_change = Instant::now();
        }
        anyhow::ensure!(
            last_change.elapsed() < STALL_TIMEOUT,
            "no job ended for {STALL_TIMEOUT:?}; {now} of {due} ended"
        );
        ended = now;
        if last_print.elapsed() >= PROGRESS_EVERY {
            last_print = Instant::now();
            progress(target, to, to, started).await?;
        }
    }
    eprintln!(
        "  {to} jobs stored, {ended} ended, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn submit(target: &Target<'_>, start: usize, end: usize) -> anyhow::Result<usize> {
    let jobs = (start..end)
        .map(|n| target.job(n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ids = target
        .client
        .jobs_create_many(SECRET, jobs, true)
        .await
        .with_context(|| format!("jobs.create_many of jobs {start}..{end}"))?;
    anyhow::ensure!(
        ids.len() == end - start,
        "{} ids for {} jobs",
        ids.len(),
        end - start
    );
    Ok(ids.len())
}

async fn progress(
    target: &Target<'_>,
    created: usize,
    to: usize,
    started: Instant,
) -> anyhow::Result<()> {
    let ended = target.ended().await?;
    eprintln!(
        "  {created} of {to} jobs created, {ended} ended ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_98_completed_1_failed_1_queued_in_every_100() {
        let fates: Vec<Fate> = (1_000..1_100).map(Fate::of).collect();
        let count = |fate| fates.iter().filter(|&&f| f == fate).count();
        assert_eq!(count(Fate::Completed), 98);
        assert_eq!(count(Fate::Failed), 1);
        assert_eq!(count(Fate::Queued), 1);
    }
}
