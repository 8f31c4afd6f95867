//! The counters `/metrics` reads: the job counters the scripts keep in `{ns}:v1:stats`, each
//! runner's load, and what each worker reports of itself (`{ns}:v1:wstats:<worker>`).

use std::time::Duration;

use hero_job::JobStatus;
use hero_store::{Error, JobStats, Result, RunnerLoad, WorkerStats};

use crate::connection::RedisStore;
use crate::scheduled::WAKE;

/// Most workers read by one [`RedisStore::worker_stats`]: bounds a scrape whatever the number
/// of workers.
const MAX_WORKERS: isize = 10_000;

impl RedisStore {
    pub(crate) async fn job_stats(&self) -> Result<JobStats> {
        // Values read as text: one field of another shape is skipped, not the whole read.
        let fields: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(self.keys().stats())
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(job_stats_of(fields))
    }

    pub(crate) async fn runner_loads(&self, runners: &[String]) -> Result<Vec<RunnerLoad>> {
        if runners.is_empty() {
            return Ok(Vec::new());
        }
        let keys = self.keys();
        let mut pipe = redis::pipe();
        for runner in runners {
            // As in `queue_len`: a wake marker near the taking end is no job.
            pipe.llen(keys.queue(runner))
                .zcard(keys.priority_queue(runner))
                .cmd("LPOS")
                .arg(keys.queue(runner))
                .arg(WAKE)
                .arg("RANK")
                .arg(-1)
                .arg("MAXLEN")
                .arg(16);
        }
        let queued: Vec<(u64, u64, Option<u64>)> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        let running = self.running_counts(runners).await?;
        Ok(queued
            .into_iter()
            .enumerate()
            .map(|(i, (listed, prioritized, marker))| RunnerLoad {
                queued: (listed + prioritized).saturating_sub(u64::from(marker.is_some())),
                running: running.as_ref().map(|counts| counts[i]),
            })
            .collect())
    }

    /// The running jobs of each runner, by `ZINTERCARD` of the running index (as large as
    /// what runs now; the command walks the smaller set) and the runner's index; `None` when
    /// Redis refuses the command (before 7.0).
    async fn running_counts(&self, runners: &[String]) -> Result<Option<Vec<u64>>> {
        let keys = self.keys();
        let mut pipe = redis::pipe();
        for runner in runners {
            pipe.cmd("ZINTERCARD")
                .arg(2)
                .arg(keys.by_status(JobStatus::Running.as_str()))
                .arg(keys.by_runner(runner));
        }
        match pipe.query_async(&mut self.conn()).await {
            Ok(counts) => Ok(Some(counts)),
            Err(e)
                if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.unavailable(e)),
        }
    }

    pub(crate) async fn put_worker_stats(&self, stats: &WorkerStats, ttl: Duration) -> Result<()> {
        let json = serde_json::to_string(stats).map_err(|e| Error::Corrupt {
            key: self.keys().worker_stats(&stats.worker),
            reason: format!("worker stats json: {e}"),
        })?;
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        redis::cmd("SET")
            .arg(self.keys().worker_stats(&stats.worker))
            .arg(json)
            .arg("PX")
            .arg(ttl_ms)
            .exec_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))
    }

    pub(crate) async fn worker_stats(&self) -> Result<Vec<WorkerStats>> {
        let keys = self.keys();
        let workers: Vec<String> = redis::cmd("ZRANGE")
            .arg(keys.workers())
            .arg(0)
            .arg(MAX_WORKERS - 1)
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        if workers.is_empty() {
            return Ok(Vec::new());
        }
        let mut get = redis::cmd("MGET");
        for worker in &workers {
            get.arg(keys.worker_stats(worker));
        }
        let raw: Vec<Option<String>> = get
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        // A worker that writes no stats (a runner in another language may not), or an entry
        // that cannot be read, is left out: these are figures to show, not state to act on.
        Ok(raw
            .into_iter()
            .flatten()
            .filter_map(|json| serde_json::from_str(&json).ok())
            .collect())
    }
}

/// The counters of the `{ns}:v1:stats` fields; a field of another shape is skipped.
fn job_stats_of(fields: Vec<(String, String)>) -> JobStats {
    let mut stats = JobStats::default();
    for (field, count) in fields {
        let Ok(count) = count.parse::<u64>() else {
            continue;
        };
        if let Some(runner) = field.strip_prefix("submitted:") {
            stats.submitted.insert(runner.to_owned(), count);
        } else if let Some(rest) = field.strip_prefix("finished:") {
            // A status never holds `:`, so the last one ends the runner's name.
            let Some((runner, status)) = rest.rsplit_once(':') else {
                continue;
            };
            if let Ok(status) = status.parse::<JobStatus>() {
                stats.finished.insert((runner.to_owned(), status), count);
            }
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_by_runner_and_status_skipping_fields_of_another_shape() {
        let stats = job_stats_of(vec![
            ("submitted:r1".into(), "3".into()),
            ("finished:r1:completed".into(), "2".into()),
            ("finished:r1:failed".into(), "1".into()),
            ("finished:r1:sideways".into(), "9".into()),
            ("finished:r2:failed".into(), "many".into()),
            ("other".into(), "4".into()),
        ]);
        assert_eq!(stats.submitted.get("r1"), Some(&3));
        assert_eq!(
            stats.finished.get(&("r1".to_owned(), JobStatus::Completed)),
            Some(&2)
        );
        assert_eq!(
            stats.finished.get(&("r1".to_owned(), JobStatus::Failed)),
            Some(&1)
        );
        assert_eq!(stats.finished.len(), 2);
    }
}
