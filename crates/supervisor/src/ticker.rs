//! The ticker: creates the job of each schedule's tick when it falls. Every supervisor runs
//! one; the store's claim of a tick (`Store::claim_tick`) lets exactly one of them create it.
//!
//! A tick's job is made in three steps, each safe to repeat by any supervisor: the job is
//! stored `created` under an id derived from the schedule and the tick (a second store of it
//! is refused as existing), the tick is claimed, and the claimant queues the job. A
//! supervisor that dies between two steps leaves the rest to the others (or to itself after
//! a restart): the job stored but its tick unclaimed is found again by its id; a tick
//! claimed but its job not queued is queued by the next pass of any supervisor.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hero_store::{Error as StoreError, ScheduleRecord, Store, TickClaim};
use tokio::task::JoinHandle;

use crate::schedule::Cron;
use crate::supervisor::Supervisor;

/// Longest sleep between two reads of the schedules, whatever their next tick: schedules
/// created, changed or deleted through another supervisor are seen within it (this
/// supervisor's own `schedules.create` wakes the ticker at once).
const REREAD: Duration = Duration::from_secs(5);

/// Time before a pass that failed (the store unreachable) is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// The ticker task, aborted when dropped.
pub(crate) struct Ticker(JoinHandle<()>);

impl Ticker {
    pub(crate) fn start(supervisor: Arc<Supervisor>) -> Self {
        Self(tokio::spawn(run(supervisor)))
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The ticks this ticker knows are queued, by schedule name: `(seed, tick)`. A schedule's
/// last tick not in here is queued once more (a no-op when it already is), in case its
/// claimant died before queuing it.
type Queued = HashMap<String, (String, DateTime<Utc>)>;

async fn run(supervisor: Arc<Supervisor>) {
    let mut queued = Queued::new();
    loop {
        let wait = match pass(&supervisor, &mut queued).await {
            Ok(Some(next)) => (next - Utc::now()).to_std().unwrap_or_default().min(REREAD),
            Ok(None) => REREAD,
            Err(error) => {
                tracing::debug!(%error, "schedules skipped; trying again");
                RETRY
            }
        };
        tokio::select! {
            () = supervisor.shutdown.cancelled() => return,
            () = supervisor.schedules_changed.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Creates the due tick of every schedule whose owner may still submit its job, and returns
/// when to look again: the earliest next tick of them all, or soon when one failed.
///
/// # Errors
///
/// The schedules cannot be read, or the store is unavailable: the whole pass is retried.
async fn pass(
    supervisor: &Supervisor,
    queued: &mut Queued,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let store = supervisor.store.as_ref();
    // A secret removed or lowered on any supervisor stops its schedules from the next tick.
    supervisor.secrets.refresh(store).await;
    let schedules = store.schedules().await?;
    queued.retain(|name, _| schedules.iter().any(|s| s.name == *name));
    let now = Utc::now();
    let mut earliest: Option<DateTime<Utc>> = None;
    for schedule in &schedules {
        let cron = match Cron::parse(&schedule.cron) {
            Ok(cron) => cron,
            Err(reason) => {
                // Checked when it was created: only a foreign writer stores such a schedule.
                tracing::debug!(schedule = %schedule.name, %reason, "unreadable cron; skipped");
                continue;
            }
        };
        let next = match tick(supervisor, schedule, &cron, now, queued).await {
            Ok(()) => cron.next_after(now),
            Err(error) if error.is_retryable() => return Err(error),
            // One schedule's trouble (a job the store refuses) must not hold up the others.
            Err(error) => {
                tracing::warn!(schedule = %schedule.name, %error, "tick failed; trying again");
                chrono::Duration::from_std(RETRY)
                    .ok()
                    .map(|retry| now + retry)
            }
        };
        if let Some(next) = next {
            earliest = Some(earliest.map_or(next, |e| e.min(next)));
        }
    }
    Ok(earliest)
}

/// Creates the due tick of `schedule`, if any and its owner may; else makes sure its last
/// tick's job is queued.
async fn tick(
    supervisor: &Supervisor,
    schedule: &ScheduleRecord,
    cron: &Cron,
    now: DateTime<Utc>,
    queued: &mut Queued,
) -> Result<(), StoreError> {
    let store = supervisor.store.as_ref();
    let allowed = schedule
        .owner
        .as_deref()
        .is_none_or(|owner| supervisor.secrets.grant_allows(owner, schedule.job.level));
    match cron.latest_due(schedule.last_tick, now) {
        // Not claimed: if the secret is granted again, its latest missed tick is created.
        Some(_) if !allowed => Ok(()),
        Some(tick) => fire(store, schedule, tick, queued).await,
        None if schedule.last_tick > schedule.created_at => {
            queue_last(store, schedule, queued).await
        }
        None => Ok(()),
    }
}

/// Creates the job of `tick`, unless another supervisor did or does.
async fn fire(
    store: &dyn Store,
    schedule: &ScheduleRecord,
    tick: DateTime<Utc>,
    queued: &mut Queued,
) -> Result<(), StoreError> {
    let id = schedule.job_id(tick);
    let mut job = schedule.job.clone();
    job.id.clone_from(&id);
    // The tick, not the moment it was stored: whichever supervisor stores it, the job says
    // which tick it is for.
    job.created_at = tick;
    job.updated_at = Utc::now();
    let stored_here = match store.create_job(&job, schedule.owner.as_deref()).await {
        Ok(()) => true,
        Err(StoreError::JobExists { .. }) => false,
        Err(e) => return Err(e),
    };
    match store
        .claim_tick(&schedule.name, &schedule.seed, tick)
        .await?
    {
        TickClaim::Claimed => {
            queue(store, &id).await?;
            queued.insert(schedule.name.clone(), (schedule.seed.clone(), tick));
            tracing::debug!(schedule = %schedule.name, job = %id, %tick, "tick created a job");
        }
        // Another supervisor claimed this very tick: it queues the job, which is this one.
        TickClaim::Taken { last } if last == tick => {}
        // A later tick was claimed, or the schedule deleted, while this one was late: a job
        // stored here for it is an extra that nobody will queue.
        TickClaim::Taken { .. } | TickClaim::Gone => {
            if stored_here {
                match store.delete_job(&id, None).await {
                    Ok(()) | Err(StoreError::JobNotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(())
}

/// Queues the job of the schedule's last tick, once per tick and ticker.
async fn queue_last(
    store: &dyn Store,
    schedule: &ScheduleRecord,
    queued: &mut Queued,
) -> Result<(), StoreError> {
    let last = (schedule.seed.clone(), schedule.last_tick);
    if queued.get(&schedule.name) == Some(&last) {
        return Ok(());
    }
    queue(store, &schedule.job_id(schedule.last_tick)).await?;
    queued.insert(schedule.name.clone(), last);
    Ok(())
}

/// Queues the tick's job `id`: a job already queued (or further on) or deleted meanwhile is
/// left as it is.
async fn queue(store: &dyn Store, id: &str) -> Result<(), StoreError> {
    match store.start_job(id, None).await {
        Ok(()) | Err(StoreError::WrongState { .. } | StoreError::JobNotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
