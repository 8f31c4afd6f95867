//! The job methods: authorize has run; here params are read, the job validated, and the
//! store called.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use hero_job::{Job, JobRecord, JobResult};
use hero_store::{Finish, MAX_RUNNER_LOSSES, StopOutcome};
use hero_supervisor_api::methods::{Method, names};
use hero_supervisor_api::params::{
    self, JobIdParams, JobParams, JobReadParams, JobsParams, ListParams, ParamsError,
};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::access::{check_runner, owned_job, required};
use crate::auth::Caller;
use crate::error::Error;
use crate::supervisor::Supervisor;

/// Time a runner gets, past a job's timeout, to report before the supervisor ends the job.
const REPORT_GRACE: Duration = Duration::from_secs(5);

/// Time a runner gets to confirm a stop before the supervisor marks the job stopped itself.
const STOP_GRACE: Duration = Duration::from_secs(5);

pub(super) async fn call(
    supervisor: &Supervisor,
    method: &'static Method,
    named: Map<String, Value>,
    caller: Option<&Caller>,
) -> Result<Value, Error> {
    let store = supervisor.store.as_ref();
    match method.name {
        names::JOBS_CREATE => {
            let caller = required(caller)?;
            let job = params::parse::<JobParams>(method, named)?.job;
            let job = supervisor.accept(job, caller)?;
            check_runner(supervisor, caller, &job.runner).await?;
            store.create_job(&job, Some(&caller.hash)).await?;
            Ok(Value::String(job.id))
        }
        names::JOBS_LIST => {
            let caller = required(caller)?;
            let p: ListParams = params::parse(method, named)?;
            let filter = p.filter.unwrap_or_default();
            let bad = |reason: String| ParamsError {
                method: method.name,
                reason,
            };
            let limit = filter.limit().map_err(bad)?;
            for (field, value) in [
                ("filter.runner", &filter.runner),
                ("filter.caller_id", &filter.caller_id),
                ("filter.context_id", &filter.context_id),
                ("filter.before", &filter.before),
            ] {
                if let Some(value) = value {
                    hero_job::validate_id(field, value)?;
                }
            }
            let records = store
                .list_jobs(&hero_store::JobFilter {
                    status: filter.status.map(|s| s.to_vec()).unwrap_or_default(),
                    runner: filter.runner,
                    caller_id: filter.caller_id,
                    context_id: filter.context_id,
                    // A user secret reads its own index: it never walks other owners' jobs.
                    owner: caller.required_owner().map(str::to_owned),
                    limit: usize::try_from(limit).unwrap_or(usize::MAX),
                    before: filter.before,
                })
                .await?;
            Ok(to_value(&records))
        }
        names::JOB_RUN => {
            let caller = required(caller)?;
            let given = params::parse::<JobParams>(method, named)?.job;
            let chose_id = given.id.is_empty();
            let job = supervisor.accept(given, caller)?;
            check_runner(supervisor, caller, &job.runner).await?;
            // Taken before the job is stored, so a refused call leaves nothing behind.
            let _waiting = supervisor.wait_permit()?;
            let run = store.run_job(&job, Some(&caller.hash), job_wait(&job));
            let Some(record) = supervisor.shutdown.run_until_cancelled(run).await else {
                let id = chose_id.then(|| job.id.clone());
                return Err(Error::ShuttingDown { id });
            };
            let record = record?;
            let record = end_unless_final(supervisor, record).await?;
            Ok(to_value(&result_of(&record)))
        }
        names::JOB_START => {
            let caller = required(caller)?;
            let p: JobIdParams = params::parse(method, named)?;
            hero_job::validate_id("job_id", &p.job_id)?;
            // Read for the runner's access check; the ownership is checked again by the store
            // in the same step as the start.
            let record = owned_job(supervisor, caller, &p.job_id).await?;
            check_runner(supervisor, caller, &record.job.runner).await?;
            store.start_job(&p.job_id, caller.required_owner()).await?;
            Ok(Value::Null)
        }
        names::JOB_STATUS => {
            let p: JobReadParams = params::parse(method, named)?;
            hero_job::validate_id("job_id", &p.job_id)?;
            let record = store.job(&p.job_id).await?;
            let mut status = record.status_info();
            if record.status == hero_job::JobStatus::Queued {
                status.reason =
                    super::runner::waiting_reason(supervisor, &record.job.runner).await?;
            }
            Ok(to_value(&status))
        }
        names::JOB_RESULT => {
            let p: JobReadParams = params::parse(method, named)?;
            hero_job::validate_id("job_id", &p.job_id)?;
            let job = store.job(&p.job_id).await?;
            let _waiting = match caller {
                Some(_) => supervisor.wait_permit()?,
                None => supervisor.anonymous_wait_permit()?,
            };
            let wait = job_wait(&job.job);
            let waiting = store.wait_final(&p.job_id, wait);
            let Some(record) = supervisor.shutdown.run_until_cancelled(waiting).await else {
                return Err(Error::ShuttingDown { id: None });
            };
            let record = record?;
            if !record.status.is_final() {
                return Err(Error::WaitTimedOut {
                    id: p.job_id,
                    status: record.status,
                    waited_secs: wait.as_secs(),
                });
            }
            Ok(to_value(&result_of(&record)))
        }
        names::JOB_STOP => {
            let caller = required(caller)?;
            let p: JobIdParams = params::parse(method, named)?;
            hero_job::validate_id("job_id", &p.job_id)?;
            if store.stop_job(&p.job_id, caller.required_owner()).await? == StopOutcome::Requested {
                let record = store.wait_final(&p.job_id, STOP_GRACE).await?;
                if !record.status.is_final() {
                    tracing::warn!(job = %p.job_id, "runner did not confirm the stop; ending the job");
                    store
                        .end_job(
                            &p.job_id,
                            Finish::stopped("job stopped; its runner did not confirm in time"),
                        )
                        .await?;
                }
            }
            Ok(Value::Null)
        }
        names::JOB_RETRY => {
            let caller = required(caller)?;
            let p: JobIdParams = params::parse(method, named)?;
            hero_job::validate_id("job_id", &p.job_id)?;
            // As job.start: read for the runner's access check; the store checks the owner
            // again in the same step as the retry.
            let record = owned_job(supervisor, caller, &p.job_id).await?;
            check_runner(supervisor, caller, &record.job.runner).await?;
            store.retry_job(&p.job_id, caller.required_owner()).await?;
            Ok(Value::Null)
        }
        names::JOB_DELETE => {
            let caller = required(caller)?;
            let p: JobIdParams = params::parse(method, named)?;
            hero_job::validate_id("job_id", &p.job_id)?;
            store.delete_job(&p.job_id, caller.required_owner()).await?;
            Ok(Value::Null)
        }
        other => Err(Error::NotServed { method: other }),
    }
}

/// Time between a runner's death and its job's requeue: the SDK's default lease (15 s) plus
/// the reaper's period (2 s), rounded up.
const LOSS_DETECTION: Duration = Duration::from_secs(20);

/// How long a caller waits for `job` to end: until it is due (`delay`, `run_at`), then its
/// timeout plus the runner's time to report, and as much again, plus the time to notice a
/// lost runner, for each retry it can get (its `retries`, but no more than the store allows a
/// job whose runner keeps being lost); with `retry_on_error`, every retry also gets its
/// longest backoff and the promoter's lateness.
fn job_wait(job: &Job) -> Duration {
    // Saturating: the job read back from the store is not validated again.
    let attempt = Duration::from_secs(job.timeout).saturating_add(REPORT_GRACE);
    let retry = attempt.saturating_add(LOSS_DETECTION);
    let mut wait = until_due(job).saturating_add(attempt);
    if job.retry_on_error {
        for n in 1..=job.retries.min(hero_job::MAX_RETRIES) {
            let backoff = job
                .retry_backoff_secs
                .saturating_mul(1 << (n - 1))
                .min(hero_job::MAX_RETRY_DELAY_SECS);
            wait = wait
                .saturating_add(retry)
                .saturating_add(Duration::from_secs(backoff))
                .saturating_add(crate::promoter::MAX_SLEEP);
        }
    } else {
        let retries = job.retries.min(MAX_RUNNER_LOSSES - 1);
        wait = wait.saturating_add(retry.saturating_mul(retries));
    }
    wait
}

/// Time from now until `job` is due; zero when it is, plus the promoter's lateness when not.
fn until_due(job: &Job) -> Duration {
    job.due_ms()
        .and_then(|due| u64::try_from(due - Utc::now().timestamp_millis()).ok())
        .map_or(Duration::ZERO, |ms| {
            Duration::from_millis(ms).saturating_add(crate::promoter::MAX_SLEEP)
        })
}

/// Ends a job that did not finish within its wait as failed, so the caller gets a final
/// answer and the job does not run later unobserved.
async fn end_unless_final(supervisor: &Supervisor, record: JobRecord) -> Result<JobRecord, Error> {
    if record.status.is_final() {
        return Ok(record);
    }
    let reason = format!(
        "job did not finish within its timeout of {}s (it was {})",
        record.job.timeout, record.status
    );
    let id = &record.job.id;
    Ok(supervisor.store.end_job(id, Finish::failed(reason)).await?)
}

/// Checks every job of a `jobs.create_many` call as `jobs.create` checks one, before any is
/// stored: each runner once, however many jobs name it, and each id once in the call.
///
/// # Errors
///
/// The first refusal, as [`Error::InJob`] naming the job's index; [`Error::TooManyJobs`].
/// `jobs.create_many`, with `jobs` still the text it arrived as when the params were well
/// formed (see `params::named_lazy`).
pub(super) async fn create_many(
    supervisor: &Supervisor,
    method: &'static Method,
    mut named: Map<String, Value>,
    jobs: Option<&RawValue>,
    caller: Option<&Caller>,
) -> Result<Value, Error> {
    let caller = required(caller)?;
    // Read straight into jobs; when that fails, the jobs are read the way every other param
    // is, which names the offending field in its error.
    let read = jobs.and_then(|text| serde_json::from_str::<Vec<Job>>(text.get()).ok());
    let p: JobsParams = match read {
        Some(read) => {
            named.insert("jobs".into(), Value::Array(Vec::new()));
            JobsParams {
                jobs: read,
                ..params::parse(method, named)?
            }
        }
        None => {
            if let Some(text) = jobs {
                let value = serde_json::from_str(text.get()).map_err(|e| ParamsError {
                    method: method.name,
                    reason: e.to_string(),
                })?;
                named.insert("jobs".into(), value);
            }
            params::parse(method, named)?
        }
    };
    let jobs = accept_all(supervisor, caller, p.jobs).await?;
    match supervisor
        .store
        .submit_jobs(&jobs, Some(&caller.hash), p.start)
        .await
    {
        Ok(()) => {}
        Err(hero_store::Error::JobExists { id }) => {
            let index = jobs.iter().position(|job| job.id == id).unwrap_or(0);
            let taken = Error::from(hero_store::Error::JobExists { id });
            return Err(taken.in_job(index));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Value::Array(
        jobs.into_iter().map(|job| Value::String(job.id)).collect(),
    ))
}

async fn accept_all(
    supervisor: &Supervisor,
    caller: &Caller,
    given: Vec<Job>,
) -> Result<Vec<Job>, Error> {
    if given.len() > supervisor.max_jobs_per_call {
        return Err(Error::TooManyJobs {
            given: given.len(),
            max: supervisor.max_jobs_per_call,
        });
    }
    let mut jobs = Vec::with_capacity(given.len());
    let mut ids = HashSet::with_capacity(given.len());
    for (index, job) in given.into_iter().enumerate() {
        let job = supervisor
            .accept(job, caller)
            .map_err(|e| e.in_job(index))?;
        if !ids.insert(job.id.clone()) {
            let id = job.id;
            return Err(Error::from(hero_store::Error::JobExists { id }).in_job(index));
        }
        jobs.push(job);
    }
    let mut runners = HashSet::new();
    for (index, job) in jobs.iter().enumerate() {
        if runners.insert(job.runner.as_str()) {
            check_runner(supervisor, caller, &job.runner)
                .await
                .map_err(|e| e.in_job(index))?;
        }
    }
    Ok(jobs)
}

fn result_of(record: &JobRecord) -> JobResult {
    record.result.clone().unwrap_or_else(|| {
        JobResult::error(format!("job ended {} without a result", record.status))
    })
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("job types serialize to JSON without fail")
}

impl Supervisor {
    /// Validates a submitted job and fills in what the server owns: id, timestamps, and the
    /// level of the secret that submitted it (a client's own `level` is overwritten, so a
    /// user cannot pass for an admin with a runner that checks it).
    pub(super) fn accept(&self, mut job: Job, caller: &Caller) -> Result<Job, Error> {
        // Stamped first: `run_at` is checked against the job's creation, which a client
        // must not be able to move.
        let now = Utc::now();
        job.created_at = now;
        job.updated_at = now;
        job.validate(&self.job_limits)?;
        if job.id.is_empty() {
            job.id = uuid::Uuid::new_v4().to_string();
        }
        job.level = caller.level();
        Ok(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job_with(timeout: u64, retries: u32) -> Job {
        hero_job::JobBuilder::new()
            .payload("1")
            .executor("osis")
            .runner("r")
            .timeout(timeout)
            .retries(retries)
            .build()
            .expect("a valid job")
    }

    #[test]
    fn a_wait_covers_one_retry_at_most_since_a_second_loss_fails_the_job() {
        let once = job_wait(&job_with(10, 0));
        assert_eq!(once, Duration::from_secs(15));
        let twice = job_wait(&job_with(10, 1));
        assert_eq!(twice, Duration::from_secs(15 + 15 + 20));
        assert_eq!(job_wait(&job_with(10, 10)), twice);
    }

    #[test]
    fn a_wait_covers_every_retry_after_an_error_with_its_backoff_and_the_delay() {
        let mut job = job_with(10, 2);
        job.retry_on_error = true;
        job.retry_backoff_secs = 3;
        let lateness = crate::promoter::MAX_SLEEP.as_secs();
        let retry = 15 + 20 + lateness;
        assert_eq!(
            job_wait(&job),
            Duration::from_secs(15 + (retry + 3) + (retry + 6))
        );
        job.delay = Some(100);
        assert!(job_wait(&job) > Duration::from_secs(15 + (retry + 3) + (retry + 6) + 99));
    }
}
