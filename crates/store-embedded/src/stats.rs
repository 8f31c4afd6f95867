//! The counters `/metrics` reads: jobs submitted and finished per runner (kept by the
//! transactions that store and end jobs), each runner's load, and what each worker reports
//! of itself, kept until its time to live passes.

use std::time::Duration;

use hero_job::JobStatus;
use hero_store::{JobStats, Result, RunnerLoad, WorkerStats};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use crate::claims::millis;
use crate::db::{EmbeddedStore, to_json, unavailable};
use crate::tables::number;

/// Most workers read by one [`EmbeddedStore::worker_stats`].
const MAX_WORKERS: usize = 10_000;

#[derive(Serialize, Deserialize)]
struct Stored {
    stats: WorkerStats,
    /// When the entry lapses (ms).
    until: i64,
}

impl EmbeddedStore {
    pub(crate) async fn job_stats(&self) -> Result<JobStats> {
        self.read(|t, _| {
            let mut stats = JobStats::default();
            for entry in t
                .numbers
                .range("finished:".."finished;")
                .map_err(unavailable)?
            {
                let (name, count) = entry.map_err(unavailable)?;
                let rest = &name.value()["finished:".len()..];
                // A status never holds `:`, so the last one ends the runner's name.
                if let Some((runner, status)) = rest.rsplit_once(':')
                    && let Ok(status) = status.parse::<JobStatus>()
                {
                    stats
                        .finished
                        .insert((runner.to_owned(), status), count.value());
                }
            }
            for entry in t
                .numbers
                .range("submitted:".."submitted;")
                .map_err(unavailable)?
            {
                let (name, count) = entry.map_err(unavailable)?;
                let runner = &name.value()["submitted:".len()..];
                stats.submitted.insert(runner.to_owned(), count.value());
            }
            Ok(stats)
        })
        .await
    }

    pub(crate) async fn runner_loads(&self, runners: &[String]) -> Result<Vec<RunnerLoad>> {
        let runners = runners.to_vec();
        self.read(move |t, _| {
            runners
                .iter()
                .map(|runner| {
                    Ok(RunnerLoad {
                        queued: number(&t.numbers, &format!("q:{runner}"))?,
                        running: Some(number(&t.numbers, &format!("running:{runner}"))?),
                    })
                })
                .collect()
        })
        .await
    }

    pub(crate) async fn put_worker_stats(&self, stats: &WorkerStats, ttl: Duration) -> Result<()> {
        let stats = stats.clone();
        self.write(move |t, _, now| {
            let worker = stats.worker.clone();
            let stored = Stored {
                stats,
                until: now.ms.saturating_add(millis(ttl).max(1)),
            };
            let json = to_json(&worker, &stored)?;
            t.worker_stats
                .insert(worker.as_str(), json.as_str())
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn worker_stats(&self) -> Result<Vec<WorkerStats>> {
        self.read(|t, now| {
            // An entry that cannot be read is left out: these are figures to show, not state
            // to act on.
            Ok(t.worker_stats
                .iter()
                .map_err(unavailable)?
                .filter_map(|entry| {
                    let (_, json) = entry.ok()?;
                    let stored: Stored = serde_json::from_str(json.value()).ok()?;
                    (stored.until > now.ms).then_some(stored.stats)
                })
                .take(MAX_WORKERS)
                .collect())
        })
        .await
    }
}

/// Removes the entries of workers that stopped writing them, at most `most` per call: run by
/// the reaper, so the table holds about the live workers.
pub(crate) fn drop_lapsed(
    t: &mut crate::db::Tables<'_>,
    now: crate::db::Now,
    most: usize,
) -> Result<()> {
    let lapsed: Vec<String> = t
        .worker_stats
        .iter()
        .map_err(unavailable)?
        .filter_map(|entry| {
            let (name, json) = entry.ok()?;
            let stored: Option<Stored> = serde_json::from_str(json.value()).ok();
            stored
                .is_none_or(|s| s.until <= now.ms)
                .then(|| name.value().to_owned())
        })
        .take(most)
        .collect();
    for name in lapsed {
        t.worker_stats.remove(name.as_str()).map_err(unavailable)?;
    }
    Ok(())
}
