//! Claims with leases: taking queued jobs for a worker under fresh attempt tokens (waiting on
//! the queue's bell when it is empty), heartbeats, and a run's report and progress.

use std::time::Duration;

use hero_job::{EventStatus, Job, JobResult, JobStatus, Progress};
use hero_store::{Attempt, Claimed, Finish, Result, TIMEOUT_GRACE};
use redb::ReadableTable;
use tokio::time::Instant;

use crate::db::{EmbeddedStore, Now, Tables, unavailable};
use crate::tables::{Meta, meta};
use crate::transitions::{
    clear_run, drop_run, end, enqueue, next, put_meta, retry_later, set_status,
};
use crate::watch::Effects;

/// `d` in whole milliseconds; one too long for an `i64` is the largest.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The instant `wait` from now; a wait too long to represent is a year.
pub(crate) fn deadline_after(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 86_400))
}

/// Renews `worker`'s lease until `now + lease`.
pub(crate) fn renew_lease(
    t: &mut Tables<'_>,
    worker: &str,
    now: Now,
    lease: Duration,
) -> Result<()> {
    let until = now.ms.saturating_add(millis(lease));
    if let Some(old) = t.leases.insert(worker, until).map_err(unavailable)? {
        let old = old.value();
        t.lease_ends.remove((old, worker)).map_err(unavailable)?;
    }
    t.lease_ends
        .insert((until, worker), ())
        .map_err(unavailable)?;
    Ok(())
}

/// Takes up to `most` jobs off `queue`, highest priority and then oldest first, and marks
/// them running for `worker`.
fn take(
    t: &mut Tables<'_>,
    fx: &mut Effects,
    now: Now,
    queue: &str,
    worker: &str,
    lease: Duration,
    most: usize,
) -> Result<Vec<Claimed>> {
    renew_lease(t, worker, now, lease)?;
    t.seen.insert(queue, now.ms).map_err(unavailable)?;
    let mut claimed = Vec::new();
    while claimed.len() < most {
        let first = t
            .queue
            .range((queue, 0u8, i64::MIN)..=(queue, u8::MAX, i64::MAX))
            .map_err(unavailable)?
            .next()
            .transpose()
            .map_err(unavailable)?
            .map(|(_, id)| id.value().to_owned());
        let Some(id) = first else {
            break;
        };
        let Some(mut m) = meta(&t.meta, &id)? else {
            // A stale entry: the queue and the jobs change in the same transactions, so this
            // is only ever a damaged file; dropping it keeps the queue moving.
            drop_stale(t, queue, &id)?;
            continue;
        };
        if m.status != JobStatus::Queued || m.runner != queue {
            drop_stale(t, queue, &id)?;
            continue;
        }
        crate::transitions::dequeue(t, &mut m)?;
        let token = next(t, "seq:attempt")?;
        if let Some(claim) = mark(t, fx, now, &id, &mut m, worker, token)? {
            claimed.push(claim);
        }
    }
    Ok(claimed)
}

fn drop_stale(t: &mut Tables<'_>, queue: &str, id: &str) -> Result<()> {
    let stale: Vec<(u8, i64)> = t
        .queue
        .range((queue, 0u8, i64::MIN)..=(queue, u8::MAX, i64::MAX))
        .map_err(unavailable)?
        .take(1)
        .filter_map(|entry| entry.ok())
        .filter(|(_, value)| value.value() == id)
        .map(|(key, _)| {
            let (_, band, seq) = key.value();
            (band, seq)
        })
        .collect();
    for (band, seq) in stale {
        t.queue.remove((queue, band, seq)).map_err(unavailable)?;
        crate::transitions::bump(t, &format!("q:{queue}"), -1)?;
    }
    Ok(())
}

/// Marks the job running under `token`; a job whose submitted form cannot be read is failed
/// under that token instead, so it never holds up the rest of the batch.
fn mark(
    t: &mut Tables<'_>,
    fx: &mut Effects,
    now: Now,
    id: &str,
    m: &mut Meta,
    worker: &str,
    token: u64,
) -> Result<Option<Claimed>> {
    let body = t
        .body
        .get(id)
        .map_err(unavailable)?
        .map(|b| b.value().to_owned())
        .unwrap_or_default();
    let timeout_ms = i64::try_from(m.timeout.saturating_mul(1000)).unwrap_or(i64::MAX);
    let deadline = now
        .ms
        .saturating_add(timeout_ms)
        .saturating_add(millis(TIMEOUT_GRACE));
    set_status(t, id, m, JobStatus::Running)?;
    m.worker = Some(worker.to_owned());
    m.attempt = Some(token);
    m.started_at = Some(now.at);
    m.updated_at = now.at;
    m.deadline = Some(deadline);
    m.claimed_ms = Some(now.ms);
    t.inflight
        .insert((worker, id), token)
        .map_err(unavailable)?;
    t.deadlines
        .insert((deadline, id), ())
        .map_err(unavailable)?;
    // Its wait: since it was last queued, else since it was created and queued with it.
    let waited = now
        .ms
        .saturating_sub(m.queued_ms.unwrap_or(m.created_ms))
        .max(0) as u64;
    fx.change(id, m, EventStatus::Running, now.at, Some(waited));
    match serde_json::from_str::<Job>(&body) {
        Ok(job) => {
            put_meta(t, id, m)?;
            Ok(Some(Claimed { job, token }))
        }
        Err(e) => {
            let failed = Finish::failed(format!("the job cannot be read: {e}"));
            report(t, fx, now, worker, id, m, failed)?;
            Ok(None)
        }
    }
}

/// Records how the run held by `worker` ended (the caller checked it holds it).
fn report(
    t: &mut Tables<'_>,
    fx: &mut Effects,
    now: Now,
    worker: &str,
    id: &str,
    m: &mut Meta,
    finish: Finish,
) -> Result<()> {
    t.inflight.remove((worker, id)).map_err(unavailable)?;
    if finish.status == JobStatus::Failed {
        if let JobResult::Error { error } = &finish.result {
            m.last_error = Some(error.clone());
        }
        if retry_later(t, fx, now, id, m)? {
            return Ok(());
        }
    }
    drop_run(t, id, m)?;
    end(t, fx, now, id, m, finish.status, &finish.result)
}

impl EmbeddedStore {
    pub(crate) async fn claim(
        &self,
        queue: &str,
        worker: &str,
        lease: Duration,
        wait: Duration,
        most: usize,
    ) -> Result<Vec<Claimed>> {
        let deadline = deadline_after(wait);
        let bell = self.inner.signals.queues.get(queue);
        loop {
            // Listening before looking: a job queued between the look and the wait still
            // wakes this claim.
            let notified = bell.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (queue_name, worker_name) = (queue.to_owned(), worker.to_owned());
            let most = most.max(1);
            let jobs = self
                .write(move |t, fx, now| take(t, fx, now, &queue_name, &worker_name, lease, most))
                .await?;
            if !jobs.is_empty() || Instant::now() >= deadline {
                return Ok(jobs);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    pub(crate) async fn heartbeat(
        &self,
        worker: &str,
        lease: Duration,
        running: &[Attempt],
    ) -> Result<Vec<Attempt>> {
        let worker = worker.to_owned();
        let running = running.to_vec();
        self.write(move |t, fx, now| heartbeat(t, fx, now, &worker, lease, &running))
            .await
    }

    pub(crate) async fn finish(
        &self,
        worker: &str,
        attempt: &Attempt,
        finish: Finish,
    ) -> Result<bool> {
        let worker = worker.to_owned();
        let attempt = attempt.clone();
        self.write(move |t, fx, now| {
            let id = attempt.id.as_str();
            match meta(&t.meta, id)? {
                Some(mut m) if m.is_run(&worker, attempt.token) => {
                    report(t, fx, now, &worker, id, &mut m, finish)?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
        .await
    }

    pub(crate) async fn progress(
        &self,
        worker: &str,
        attempt: &Attempt,
        progress: &Progress,
    ) -> Result<bool> {
        let worker = worker.to_owned();
        let attempt = attempt.clone();
        let progress = progress.clone();
        self.write(move |t, fx, now| {
            let id = attempt.id.as_str();
            match meta(&t.meta, id)? {
                Some(mut m) if m.is_run(&worker, attempt.token) => {
                    m.progress = Some(progress.clone());
                    fx.progress(id, &m, progress, now.at);
                    put_meta(t, id, &m)?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
        .await
    }
}

/// Renews the lease, says which listed runs to give up, and takes back the runs held under
/// `worker` it does not list and that were claimed over a lease ago (their claim's reply
/// never reached it): to the front of their queue, not counted as a lost runner.
fn heartbeat(
    t: &mut Tables<'_>,
    fx: &mut Effects,
    now: Now,
    worker: &str,
    lease: Duration,
    running: &[Attempt],
) -> Result<Vec<Attempt>> {
    renew_lease(t, worker, now, lease)?;
    let mut give_up = Vec::new();
    for attempt in running {
        match meta(&t.meta, &attempt.id)? {
            Some(m) if m.is_run(worker, attempt.token) && !m.stop => {
                t.seen
                    .insert(m.runner.as_str(), now.ms)
                    .map_err(unavailable)?;
            }
            _ => give_up.push(attempt.clone()),
        }
    }
    let held: Vec<(String, u64)> = t
        .inflight
        .range((worker, "")..)
        .map_err(unavailable)?
        .map_while(|entry| {
            let (key, token) = entry.ok()?;
            let (w, id) = key.value();
            (w == worker).then(|| (id.to_owned(), token.value()))
        })
        .collect();
    for (id, token) in held {
        let listed = running.iter().any(|a| a.id == id && a.token == token);
        let Some(mut m) = meta(&t.meta, &id)? else {
            t.inflight
                .remove((worker, id.as_str()))
                .map_err(unavailable)?;
            continue;
        };
        if !m.is_run(worker, token) {
            t.inflight
                .remove((worker, id.as_str()))
                .map_err(unavailable)?;
        } else if !listed
            && m.claimed_ms
                .is_some_and(|c| c.saturating_add(millis(lease)) <= now.ms)
        {
            drop_run(t, &id, &m)?;
            set_status(t, &id, &mut m, JobStatus::Queued)?;
            // A stop asked meanwhile stays asked: the next run is given it at its first
            // heartbeat.
            clear_run(&mut m);
            m.updated_at = now.at;
            m.queued_ms = Some(now.ms);
            enqueue(t, fx, &id, &mut m, true)?;
            fx.change(&id, &m, EventStatus::Queued, now.at, None);
            put_meta(t, &id, &m)?;
        }
    }
    Ok(give_up)
}
