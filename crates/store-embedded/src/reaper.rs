//! The reaper: ends the runs of workers whose lease expired (requeued while retries are
//! left, else failed "runner lost", stopped when a stop was asked) and fails the runs past
//! their deadline, then removes the finished jobs whose retention passed (`retention.rs`).
//! Due workers and deadlines are read from their time-ordered tables, never by scanning jobs.

use hero_job::{EventStatus, JobResult, JobStatus};
use hero_store::{MAX_RUNNER_LOSSES, Reaped, Result};
use redb::ReadableTable;

use crate::db::{EmbeddedStore, Now, Tables, unavailable};
use crate::tables::meta;
use crate::transitions::{clear_run, drop_run, end, enqueue, put_meta, retry_later, set_status};
use crate::watch::Effects;

/// Workers reaped per transaction, as the Redis store's `reap.lua` does.
const WORKERS_PER_PASS: usize = 100;

/// Timed-out runs ended per transaction: one pass holds the file briefly however many are due.
const DEADLINES_PER_PASS: usize = 500;

const LOST: &str = "runner lost: it stopped renewing its lease while running the job";
const TIMED_OUT: &str = "timed out: the job ran past its timeout and its runner did not end it";

impl EmbeddedStore {
    pub(crate) async fn reap_expired(&self) -> Result<Reaped> {
        let (failed, requeued, timed_out) = self
            .write(|t, fx, now| {
                let (failed, requeued) = reap_lost(t, fx, now)?;
                let timed_out = reap_timed_out(t, fx, now)?;
                crate::stats::drop_lapsed(t, now, WORKERS_PER_PASS)?;
                Ok((failed, requeued, timed_out))
            })
            .await?;
        let expired = self.expire_due().await?;
        Ok(Reaped {
            failed,
            requeued,
            timed_out,
            expired,
        })
    }
}

fn reap_lost(t: &mut Tables<'_>, fx: &mut Effects, now: Now) -> Result<(u64, u64)> {
    let due: Vec<(i64, String)> = t
        .lease_ends
        .range(..=(now.ms, "\u{10FFFF}"))
        .map_err(unavailable)?
        .take(WORKERS_PER_PASS)
        .map(|entry| {
            entry.map_err(unavailable).map(|(key, _)| {
                let (until, worker) = key.value();
                (until, worker.to_owned())
            })
        })
        .collect::<Result<_>>()?;
    let (mut failed, mut requeued) = (0, 0);
    for (until, worker) in due {
        t.lease_ends
            .remove((until, worker.as_str()))
            .map_err(unavailable)?;
        t.leases.remove(worker.as_str()).map_err(unavailable)?;
        let held: Vec<String> = t
            .inflight
            .range((worker.as_str(), "")..)
            .map_err(unavailable)?
            .map_while(|entry| {
                let (key, _) = entry.ok()?;
                let (w, id) = key.value();
                (w == worker).then(|| id.to_owned())
            })
            .collect();
        for id in held {
            t.inflight
                .remove((worker.as_str(), id.as_str()))
                .map_err(unavailable)?;
            let Some(mut m) = meta(&t.meta, &id)? else {
                continue;
            };
            if m.status != JobStatus::Running || m.worker.as_deref() != Some(worker.as_str()) {
                continue;
            }
            m.losses += 1;
            let reruns = m.requeues + m.errors;
            drop_run(t, &id, &m)?;
            if m.stop {
                end(
                    t,
                    fx,
                    now,
                    &id,
                    &mut m,
                    JobStatus::Stopped,
                    &JobResult::error("job stopped"),
                )?;
                failed += 1;
            } else if m.losses >= MAX_RUNNER_LOSSES {
                let message = format!(
                    "runner lost {MAX_RUNNER_LOSSES} times while running this job; it is not \
                     run again, whatever its retries"
                );
                end(
                    t,
                    fx,
                    now,
                    &id,
                    &mut m,
                    JobStatus::Failed,
                    &JobResult::error(message),
                )?;
                failed += 1;
            } else if reruns < m.retries {
                set_status(t, &id, &mut m, JobStatus::Queued)?;
                clear_run(&mut m);
                m.requeues += 1;
                m.updated_at = now.at;
                m.queued_ms = Some(now.ms);
                enqueue(t, fx, &id, &mut m, true)?;
                fx.change(&id, &m, EventStatus::Queued, now.at, None);
                put_meta(t, &id, &m)?;
                requeued += 1;
            } else {
                end(
                    t,
                    fx,
                    now,
                    &id,
                    &mut m,
                    JobStatus::Failed,
                    &JobResult::error(LOST),
                )?;
                failed += 1;
            }
        }
    }
    Ok((failed, requeued))
}

/// Fails the runs past their deadline (claim + timeout + grace), whatever their runner does;
/// one that asked to be retried after an error, with retries left, backs off instead.
fn reap_timed_out(t: &mut Tables<'_>, fx: &mut Effects, now: Now) -> Result<u64> {
    let due: Vec<(i64, String)> = t
        .deadlines
        .range(..(now.ms, ""))
        .map_err(unavailable)?
        .take(DEADLINES_PER_PASS)
        .map(|entry| {
            entry.map_err(unavailable).map(|(key, _)| {
                let (at, id) = key.value();
                (at, id.to_owned())
            })
        })
        .collect::<Result<_>>()?;
    let mut timed_out = 0;
    for (at, id) in due {
        t.deadlines.remove((at, id.as_str())).map_err(unavailable)?;
        let Some(mut m) = meta(&t.meta, &id)? else {
            continue;
        };
        if m.status != JobStatus::Running || m.deadline != Some(at) {
            continue;
        }
        if let Some(worker) = &m.worker {
            t.inflight
                .remove((worker.as_str(), id.as_str()))
                .map_err(unavailable)?;
        }
        m.last_error = Some(TIMED_OUT.to_owned());
        if !retry_later(t, fx, now, &id, &mut m)? {
            drop_run(t, &id, &m)?;
            end(
                t,
                fx,
                now,
                &id,
                &mut m,
                JobStatus::Failed,
                &JobResult::error(TIMED_OUT),
            )?;
        }
        timed_out += 1;
    }
    Ok(timed_out)
}
