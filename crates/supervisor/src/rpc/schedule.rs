//! The schedule methods: `schedules.create`, `schedules.list`, `schedules.delete`. The ticks
//! themselves are `ticker.rs`.

use chrono::{DateTime, Duration as TimeDelta, DurationRound, Utc};
use hero_store::ScheduleRecord;
use hero_supervisor_api::methods::{Method, names};
use hero_supervisor_api::params::{self, ScheduleNameParams, ScheduleParams};
use hero_supervisor_api::schedule::Schedule;
use serde_json::{Map, Value};

use super::access::{check_runner, required};
use crate::auth::Caller;
use crate::error::Error;
use crate::schedule::Cron;
use crate::supervisor::Supervisor;

pub(super) async fn call(
    supervisor: &Supervisor,
    method: &'static Method,
    named: Map<String, Value>,
    caller: Option<&Caller>,
) -> Result<Value, Error> {
    let caller = required(caller)?;
    let store = supervisor.store.as_ref();
    match method.name {
        names::SCHEDULES_CREATE => {
            let given = params::parse::<ScheduleParams>(method, named)?.schedule;
            let (record, cron) = accept(supervisor, caller, given).await?;
            store
                .put_schedule(&record, supervisor.max_schedules)
                .await?;
            // Its first tick may come before the ticker would look again.
            supervisor.schedules_changed.notify_one();
            Ok(to_value(&view(&record, Some(&cron), Utc::now())))
        }
        names::SCHEDULES_LIST => {
            let now = Utc::now();
            let schedules: Vec<Schedule> = store
                .schedules()
                .await?
                .iter()
                .filter(|record| caller.owns(record.owner.as_deref()))
                .map(|record| view(record, Cron::parse(&record.cron).ok().as_ref(), now))
                .collect();
            Ok(to_value(&schedules))
        }
        names::SCHEDULES_DELETE => {
            let p: ScheduleNameParams = params::parse(method, named)?;
            hero_job::validate_id("name", &p.name)?;
            store
                .delete_schedule(&p.name, caller.required_owner())
                .await?;
            Ok(Value::Null)
        }
        other => Err(Error::NotServed { method: other }),
    }
}

/// Checks a schedule as given, and makes the record to store: the job checked as
/// `jobs.create` checks one, owned by the caller and carrying its level.
async fn accept(
    supervisor: &Supervisor,
    caller: &Caller,
    given: Schedule,
) -> Result<(ScheduleRecord, Cron), Error> {
    hero_job::validate_id("schedule.name", &given.name)?;
    let cron = Cron::parse(&given.cron).map_err(|reason| Error::BadSchedule {
        reason: format!("schedule.cron: {reason}"),
    })?;
    if !given.job.id.is_empty() {
        return Err(Error::BadSchedule {
            reason: "schedule.job.id: a schedule's job takes no id; each tick's job gets its own"
                .into(),
        });
    }
    let mut job = supervisor.accept(given.job, caller)?;
    job.id = String::new();
    check_runner(supervisor, caller, &job.runner).await?;
    // The store keeps ticks to the millisecond; so does the record from the start.
    let now = Utc::now()
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or_else(|_| Utc::now());
    let record = ScheduleRecord {
        name: given.name,
        cron: given.cron,
        job,
        owner: Some(caller.hash.clone()),
        created_at: now,
        last_tick: now,
        seed: uuid::Uuid::new_v4().simple().to_string(),
    };
    Ok((record, cron))
}

/// The schedule as callers see it: no owner, no seed.
fn view(record: &ScheduleRecord, cron: Option<&Cron>, now: DateTime<Utc>) -> Schedule {
    Schedule {
        name: record.name.clone(),
        cron: record.cron.clone(),
        job: record.job.clone(),
        created_at: Some(record.created_at),
        last_tick: (record.last_tick > record.created_at).then_some(record.last_tick),
        next_tick: cron.and_then(|cron| cron.next_after(now)),
    }
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("schedules serialize to JSON without fail")
}
