//! The steps every state change is made of, inside one write transaction: moving a job
//! between status indexes, queuing and scheduling it, taking it off its queue, ending it with
//! its retention and counters. The Redis store's `lua/lib.lua` holds the same steps.

use hero_job::{EventStatus, JobResult, JobStatus};
use hero_store::{Result, Retention};
use redb::ReadableTable;

use crate::db::{Now, Tables, to_json, unavailable};
use crate::tables::{Meta, by_status, number};
use crate::watch::Effects;

/// Adds `delta` to the counter `name`.
pub(crate) fn bump(t: &mut Tables<'_>, name: &str, delta: i64) -> Result<()> {
    let now = number(&t.numbers, name)?;
    let next = now.saturating_add_signed(delta);
    if next == 0 {
        t.numbers.remove(name).map_err(unavailable)?;
    } else {
        t.numbers.insert(name, next).map_err(unavailable)?;
    }
    Ok(())
}

/// The next value of the sequence `name`, starting at 1.
pub(crate) fn next(t: &mut Tables<'_>, name: &str) -> Result<u64> {
    bump(t, name, 1)?;
    number(&t.numbers, name)
}

pub(crate) fn index_add(t: &mut Tables<'_>, index: &str, ms: i64, id: &str) -> Result<()> {
    if t.index
        .insert((index, ms, id), ())
        .map_err(unavailable)?
        .is_none()
    {
        bump(t, &format!("n:{index}"), 1)?;
    }
    Ok(())
}

pub(crate) fn index_remove(t: &mut Tables<'_>, index: &str, ms: i64, id: &str) -> Result<()> {
    if t.index
        .remove((index, ms, id))
        .map_err(unavailable)?
        .is_some()
    {
        bump(t, &format!("n:{index}"), -1)?;
    }
    Ok(())
}

/// Moves the job between status indexes and keeps the running count of its runner.
pub(crate) fn set_status(t: &mut Tables<'_>, id: &str, m: &mut Meta, to: JobStatus) -> Result<()> {
    index_remove(t, &by_status(m.status), m.created_ms, id)?;
    index_add(t, &by_status(to), m.created_ms, id)?;
    let running = format!("running:{}", m.runner);
    if m.status == JobStatus::Running {
        bump(t, &running, -1)?;
    }
    if to == JobStatus::Running {
        bump(t, &running, 1)?;
    }
    m.status = to;
    Ok(())
}

pub(crate) fn put_meta(t: &mut Tables<'_>, id: &str, m: &Meta) -> Result<()> {
    let json = to_json(id, m)?;
    t.meta.insert(id, json.as_str()).map_err(unavailable)?;
    Ok(())
}

/// Puts the job on its runner's queue: at the back of its priority, or at the front when it
/// comes back from a run that did not end.
pub(crate) fn enqueue(
    t: &mut Tables<'_>,
    fx: &mut Effects,
    id: &str,
    m: &mut Meta,
    front: bool,
) -> Result<()> {
    let seq = i64::try_from(next(t, "seq:queue")?).unwrap_or(i64::MAX);
    let band = 9u8.saturating_sub(m.priority.min(9));
    let seq = if front { -seq } else { seq };
    t.queue
        .insert((m.runner.as_str(), band, seq), id)
        .map_err(unavailable)?;
    m.queue_at = Some((band, seq));
    bump(t, &format!("q:{}", m.runner), 1)?;
    fx.queued(&m.runner);
    Ok(())
}

/// Takes the job off its runner's queue, if it is on it.
pub(crate) fn dequeue(t: &mut Tables<'_>, m: &mut Meta) -> Result<()> {
    if let Some((band, seq)) = m.queue_at.take()
        && t.queue
            .remove((m.runner.as_str(), band, seq))
            .map_err(unavailable)?
            .is_some()
    {
        bump(t, &format!("q:{}", m.runner), -1)?;
    }
    Ok(())
}

/// Schedules the job for `due` (ms); tells the promoters when it is now the earliest.
pub(crate) fn schedule(
    t: &mut Tables<'_>,
    fx: &mut Effects,
    id: &str,
    m: &mut Meta,
    due: i64,
) -> Result<()> {
    t.scheduled.insert((due, id), ()).map_err(unavailable)?;
    m.scheduled_at = Some(due);
    let first = t.scheduled.first().map_err(unavailable)?;
    if first.is_some_and(|(key, _)| key.value() == (due, id)) {
        fx.rescheduled();
    }
    Ok(())
}

pub(crate) fn unschedule(t: &mut Tables<'_>, id: &str, m: &mut Meta) -> Result<()> {
    if let Some(due) = m.scheduled_at.take() {
        t.scheduled.remove((due, id)).map_err(unavailable)?;
    }
    Ok(())
}

/// Forgets the run the job is in: its worker's hold on it and its deadline entry.
pub(crate) fn drop_run(t: &mut Tables<'_>, id: &str, m: &Meta) -> Result<()> {
    if let Some(worker) = &m.worker {
        t.inflight
            .remove((worker.as_str(), id))
            .map_err(unavailable)?;
    }
    if let Some(deadline) = m.deadline {
        t.deadlines.remove((deadline, id)).map_err(unavailable)?;
    }
    Ok(())
}

/// Clears what belonged to the run, for a job that waits again.
pub(crate) fn clear_run(m: &mut Meta) {
    m.worker = None;
    m.attempt = None;
    m.started_at = None;
    m.deadline = None;
    m.claimed_ms = None;
    m.progress = None;
}

/// The retention in force (set by `put_retention`, else the default).
pub(crate) fn retention(t: &Tables<'_>) -> Result<Retention> {
    let default = Retention::default();
    let read = |status: &str, fallback: std::time::Duration| -> Result<std::time::Duration> {
        Ok(
            match t
                .numbers
                .get(format!("retention:{status}").as_str())
                .map_err(unavailable)?
            {
                Some(ms) => std::time::Duration::from_millis(ms.value()),
                None => fallback,
            },
        )
    };
    Ok(Retention {
        completed: read("completed", default.completed)?,
        failed: read("failed", default.failed)?,
        stopped: read("stopped", default.stopped)?,
    })
}

/// Makes a job that was `from` final with `status` and `result`: status index, result, end
/// time, removal after its retention, the `/metrics` counter, its waiters and watchers. The
/// caller has taken it off its queue, schedule or run.
pub(crate) fn end(
    t: &mut Tables<'_>,
    fx: &mut Effects,
    now: Now,
    id: &str,
    m: &mut Meta,
    status: JobStatus,
    result: &JobResult,
) -> Result<()> {
    let from = m.status;
    set_status(t, id, m, status)?;
    let json = to_json(id, result)?;
    t.results.insert(id, json.as_str()).map_err(unavailable)?;
    m.completed_at = Some(now.at);
    m.updated_at = now.at;
    m.stop = false;
    if let Some(keep) = retention(t)?.of(status) {
        let at = now
            .ms
            .saturating_add(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX));
        if let Some(old) = m.expires_at.replace(at) {
            t.expiry.remove((old, id)).map_err(unavailable)?;
        }
        t.expiry.insert((at, id), ()).map_err(unavailable)?;
    }
    bump(t, &format!("finished:{}:{}", m.runner, status.as_str()), 1)?;
    // A run time only for a job that ran: a claim time left from another state means nothing.
    let elapsed = match (from, m.claimed_ms) {
        (JobStatus::Running, Some(claimed)) => Some(now.ms.saturating_sub(claimed).max(0) as u64),
        _ => None,
    };
    fx.change(id, m, EventStatus::from(status), now.at, elapsed);
    fx.ended(id);
    put_meta(t, id, m)
}

/// When a failed run of a job that asked to be retried after an error, with retries left and
/// no stop asked, backs it off as `scheduled` (the n-th retry waits backoff × 2^(n−1) s,
/// capped at a day, jittered down to half) and returns true; false when it is to end.
pub(crate) fn retry_later(
    t: &mut Tables<'_>,
    fx: &mut Effects,
    now: Now,
    id: &str,
    m: &mut Meta,
) -> Result<bool> {
    let reruns = m.requeues + m.errors;
    if !m.retry_on_error || m.stop || reruns >= m.retries {
        return Ok(false);
    }
    m.errors += 1;
    let base = m.backoff.max(1) as f64;
    let wait_ms =
        (base * 2f64.powi(m.errors as i32 - 1)).min(hero_job::MAX_RETRY_DELAY_SECS as f64) * 1000.0;
    let jitter = f64::from(now.at.timestamp_subsec_micros() % 1000) / 999.0;
    let due = now.ms + (wait_ms * (0.5 + 0.5 * jitter)) as i64;
    drop_run(t, id, m)?;
    set_status(t, id, m, JobStatus::Scheduled)?;
    clear_run(m);
    m.updated_at = now.at;
    schedule(t, fx, id, m, due)?;
    fx.change(id, m, EventStatus::Scheduled, now.at, None);
    put_meta(t, id, m)?;
    Ok(true)
}
