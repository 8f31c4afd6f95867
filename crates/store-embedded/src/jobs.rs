//! Jobs as records: creating, starting and submitting them, reading them back, deleting,
//! stopping, ending and retrying them. Listing them is `listing.rs`.

use std::collections::HashSet;

use hero_job::{EventStatus, Job, JobRecord, JobResult, JobStatus};
use hero_store::{Error, Finish, Result, StopOutcome};
use redb::ReadableTable;

use crate::db::{EmbeddedStore, Now, Tables, to_json, unavailable};
use crate::tables::{Meta, by_status, meta};
use crate::transitions::{
    bump, dequeue, drop_run, end, enqueue, index_add, index_remove, put_meta, schedule, set_status,
    unschedule,
};
use crate::watch::Effects;

fn not_found(id: &str) -> Error {
    Error::JobNotFound { id: id.to_owned() }
}

/// The job's meta when it exists and, with `owner` set, is owned by it.
fn owned(t: &Tables<'_>, id: &str, owner: Option<&str>) -> Result<Meta> {
    match meta(&t.meta, id)? {
        Some(m) if owner.is_none_or(|o| m.owner.as_deref() == Some(o)) => Ok(m),
        _ => Err(not_found(id)),
    }
}

/// Stores `job`, `created`, or queued (or scheduled, when its time is to come) with `start`.
fn store_job(
    t: &mut Tables<'_>,
    fx: &mut Effects,
    now: Now,
    job: &Job,
    owner: Option<&str>,
    start: bool,
) -> Result<()> {
    let id = job.id.as_str();
    if t.meta.get(id).map_err(unavailable)?.is_some() {
        return Err(Error::JobExists { id: id.to_owned() });
    }
    let due = job.due_ms();
    let status = match (start, due) {
        (false, _) => JobStatus::Created,
        (true, Some(due)) if due > now.ms => JobStatus::Scheduled,
        (true, _) => JobStatus::Queued,
    };
    let mut m = Meta {
        runner: job.runner.clone(),
        status,
        owner: owner.map(str::to_owned),
        caller: job.caller_id.clone(),
        context: job.context_id.clone(),
        created_ms: job.created_at.timestamp_millis(),
        updated_at: job.created_at,
        timeout: job.timeout,
        retries: job.retries,
        priority: job.priority,
        due,
        retry_on_error: job.retry_on_error,
        backoff: job.retry_backoff_secs,
        worker: None,
        attempt: None,
        started_at: None,
        completed_at: None,
        deadline: None,
        claimed_ms: None,
        queued_ms: None,
        stop: false,
        losses: 0,
        requeues: 0,
        errors: 0,
        last_error: None,
        progress: None,
        queue_at: None,
        scheduled_at: None,
        expires_at: None,
    };
    let body = to_json(id, job)?;
    t.body.insert(id, body.as_str()).map_err(unavailable)?;
    for index in m.indexes() {
        index_add(t, &index, m.created_ms, id)?;
    }
    index_add(t, &by_status(status), m.created_ms, id)?;
    bump(t, &format!("submitted:{}", m.runner), 1)?;
    match status {
        JobStatus::Queued => enqueue(t, fx, id, &mut m, false)?,
        JobStatus::Scheduled => schedule(t, fx, id, &mut m, due.unwrap_or(now.ms))?,
        _ => {}
    }
    fx.change(id, &m, EventStatus::from(status), now.at, None);
    put_meta(t, id, &m)
}

/// Builds the record of job `id` from its tables; `None` when there is no such job.
pub(crate) fn record(
    metas: &impl ReadableTable<&'static str, &'static str>,
    bodies: &impl ReadableTable<&'static str, &'static str>,
    results: &impl ReadableTable<&'static str, &'static str>,
    id: &str,
) -> Result<Option<JobRecord>> {
    let Some(m) = meta(metas, id)? else {
        return Ok(None);
    };
    let corrupt = |reason: String| Error::Corrupt {
        key: id.to_owned(),
        reason,
    };
    let body = bodies
        .get(id)
        .map_err(unavailable)?
        .ok_or_else(|| corrupt("no submitted form".into()))?;
    let mut job: Job =
        serde_json::from_str(body.value()).map_err(|e| corrupt(format!("job json: {e}")))?;
    job.updated_at = m.updated_at;
    let result = match results.get(id).map_err(unavailable)? {
        Some(json) => Some(
            serde_json::from_str::<JobResult>(json.value())
                .map_err(|e| corrupt(format!("result json: {e}")))?,
        ),
        None => None,
    };
    // Runs before this one (again after an error or a lost runner), and this one once it
    // started.
    let attempt = m.errors + m.requeues + u32::from(m.started_at.is_some());
    Ok(Some(JobRecord {
        job,
        status: m.status,
        started_at: m.started_at,
        completed_at: m.completed_at,
        result,
        owner: m.owner,
        progress: m.progress,
        attempt,
        last_error: m.last_error,
    }))
}

impl EmbeddedStore {
    pub(crate) async fn submit(&self, job: &Job, owner: Option<&str>, start: bool) -> Result<()> {
        let job = job.clone();
        let owner = owner.map(str::to_owned);
        self.write(move |t, fx, now| store_job(t, fx, now, &job, owner.as_deref(), start))
            .await
    }

    /// Stores every job in one transaction: a taken id stores none of them.
    pub(crate) async fn submit_many(
        &self,
        jobs: &[Job],
        owner: Option<&str>,
        start: bool,
    ) -> Result<()> {
        let mut seen = HashSet::with_capacity(jobs.len());
        if let Some(twin) = jobs.iter().find(|job| !seen.insert(job.id.as_str())) {
            return Err(Error::JobExists {
                id: twin.id.clone(),
            });
        }
        let jobs = jobs.to_vec();
        let owner = owner.map(str::to_owned);
        self.write(move |t, fx, now| {
            for job in &jobs {
                store_job(t, fx, now, job, owner.as_deref(), start)?;
            }
            Ok(())
        })
        .await
    }

    pub(crate) async fn start_job(&self, id: &str, owner: Option<&str>) -> Result<()> {
        let id = id.to_owned();
        let owner = owner.map(str::to_owned);
        self.write(move |t, fx, now| {
            let mut m = owned(t, &id, owner.as_deref())?;
            if m.status != JobStatus::Created {
                return Err(Error::WrongState {
                    id,
                    status: m.status,
                    action: "started",
                });
            }
            let next = match m.due {
                Some(due) if due > now.ms => {
                    schedule(t, fx, &id, &mut m, due)?;
                    JobStatus::Scheduled
                }
                _ => {
                    enqueue(t, fx, &id, &mut m, false)?;
                    JobStatus::Queued
                }
            };
            set_status(t, &id, &mut m, next)?;
            m.updated_at = now.at;
            m.queued_ms = Some(now.ms);
            fx.change(&id, &m, EventStatus::from(next), now.at, None);
            put_meta(t, &id, &m)
        })
        .await
    }

    pub(crate) async fn job(&self, id: &str) -> Result<JobRecord> {
        let id = id.to_owned();
        self.read(move |t, _| {
            record(&t.meta, &t.body, &t.results, &id)?.ok_or_else(|| not_found(&id))
        })
        .await
    }

    pub(crate) async fn delete_job(&self, id: &str, owner: Option<&str>) -> Result<()> {
        let id = id.to_owned();
        let owner = owner.map(str::to_owned);
        self.write(move |t, fx, now| {
            let mut m = owned(t, &id, owner.as_deref())?;
            dequeue(t, &mut m)?;
            unschedule(t, &id, &mut m)?;
            drop_run(t, &id, &m)?;
            if m.status == JobStatus::Running {
                bump(t, &format!("running:{}", m.runner), -1)?;
            }
            if let Some(at) = m.expires_at {
                t.expiry.remove((at, id.as_str())).map_err(unavailable)?;
            }
            remove_traces(t, &id, &m)?;
            fx.change(&id, &m, EventStatus::Deleted, now.at, None);
            fx.ended(&id);
            Ok(())
        })
        .await
    }

    pub(crate) async fn stop_job(&self, id: &str, owner: Option<&str>) -> Result<StopOutcome> {
        let id = id.to_owned();
        let owner = owner.map(str::to_owned);
        self.write(move |t, fx, now| {
            let mut m = owned(t, &id, owner.as_deref())?;
            match m.status {
                JobStatus::Running => {
                    m.stop = true;
                    put_meta(t, &id, &m)?;
                    Ok(StopOutcome::Requested)
                }
                JobStatus::Created | JobStatus::Queued | JobStatus::Scheduled => {
                    dequeue(t, &mut m)?;
                    unschedule(t, &id, &mut m)?;
                    let stopped = JobResult::error("job stopped");
                    end(t, fx, now, &id, &mut m, JobStatus::Stopped, &stopped)?;
                    Ok(StopOutcome::Stopped)
                }
                _ => Ok(StopOutcome::AlreadyFinal),
            }
        })
        .await
    }

    pub(crate) async fn end_job(&self, id: &str, finish: Finish) -> Result<JobRecord> {
        let id = id.to_owned();
        self.write(move |t, fx, now| {
            let Some(mut m) = meta(&t.meta, &id)? else {
                return Err(not_found(&id));
            };
            if m.status.can_become(finish.status) && finish.status.is_final() {
                dequeue(t, &mut m)?;
                unschedule(t, &id, &mut m)?;
                drop_run(t, &id, &m)?;
                end(t, fx, now, &id, &mut m, finish.status, &finish.result)?;
            }
            record(&t.meta, &t.body, &t.results, &id)?.ok_or_else(|| not_found(&id))
        })
        .await
    }

    pub(crate) async fn retry_job(&self, id: &str, owner: Option<&str>) -> Result<()> {
        let id = id.to_owned();
        let owner = owner.map(str::to_owned);
        self.write(move |t, fx, now| {
            let mut m = owned(t, &id, owner.as_deref())?;
            if !matches!(m.status, JobStatus::Failed | JobStatus::Stopped) {
                return Err(Error::WrongState {
                    id,
                    status: m.status,
                    action: "retried",
                });
            }
            if let Some(at) = m.expires_at.take() {
                t.expiry.remove((at, id.as_str())).map_err(unavailable)?;
            }
            t.results.remove(id.as_str()).map_err(unavailable)?;
            set_status(t, &id, &mut m, JobStatus::Queued)?;
            crate::transitions::clear_run(&mut m);
            m.completed_at = None;
            m.stop = false;
            m.losses = 0;
            m.requeues = 0;
            m.errors = 0;
            m.last_error = None;
            m.updated_at = now.at;
            m.queued_ms = Some(now.ms);
            enqueue(t, fx, &id, &mut m, false)?;
            fx.change(&id, &m, EventStatus::Queued, now.at, None);
            put_meta(t, &id, &m)
        })
        .await
    }

    pub(crate) async fn results(&self, ids: &[String]) -> Result<Vec<Option<JobResult>>> {
        let ids = ids.to_vec();
        self.read(move |t, _| {
            ids.iter()
                .map(
                    |id| match t.results.get(id.as_str()).map_err(unavailable)? {
                        Some(json) => serde_json::from_str(json.value()).map(Some).map_err(|e| {
                            Error::Corrupt {
                                key: id.clone(),
                                reason: format!("result json: {e}"),
                            }
                        }),
                        None => Ok(None),
                    },
                )
                .collect()
        })
        .await
    }
}

/// Removes the job's record, result and listing entries. Queue, schedule, run and expiry
/// entries are the caller's.
pub(crate) fn remove_traces(t: &mut Tables<'_>, id: &str, m: &Meta) -> Result<()> {
    t.meta.remove(id).map_err(unavailable)?;
    t.body.remove(id).map_err(unavailable)?;
    t.results.remove(id).map_err(unavailable)?;
    for index in m.indexes() {
        index_remove(t, &index, m.created_ms, id)?;
    }
    index_remove(t, &by_status(m.status), m.created_ms, id)
}
