//! Who may reach which runner and which job: each runner's access level, the jobs a secret
//! owns, and the refusal of runners nobody knows. This is the first of two checks: a queue
//! known only from its claims has no level here, so each job also carries its secret's level
//! (set in `job.rs`) and runners whose access is `admin` refuse other jobs themselves.

use std::collections::BTreeSet;

use hero_job::JobRecord;
use hero_store::RunnerAccess;

use crate::auth::{Caller, Role};
use crate::error::Error;
use crate::supervisor::Supervisor;

/// Checks that `caller` may submit a job to the runner (queue) `runner`: the runner's access
/// level allows the caller's, and the runner is known (a configured actor, a registration,
/// or a queue some runner has claimed from) unless the supervisor accepts unknown runners.
///
/// # Errors
///
/// [`Error::RunnerNeedsAdmin`] for a user secret and an admin-only runner;
/// [`Error::UnknownRunner`] naming the runners the caller may use.
pub(super) async fn check_runner(
    supervisor: &Supervisor,
    caller: &Caller,
    runner: &str,
) -> Result<(), Error> {
    let registered = supervisor.store.runners().await?;
    let actors = supervisor
        .registry
        .actors()
        .iter()
        .map(|actor| (actor.config.name.as_str(), actor.config.access));
    let all: Vec<(&str, RunnerAccess)> = actors
        .chain(registered.iter().map(|r| (r.queue.as_str(), r.access)))
        .collect();
    // Several runners may share a queue; the strictest level guards it.
    let access = all
        .iter()
        .filter(|(queue, _)| *queue == runner)
        .map(|(_, access)| *access)
        .max();
    if access == Some(RunnerAccess::Admin) && caller.role != Role::Admin {
        return Err(Error::RunnerNeedsAdmin {
            runner: runner.to_owned(),
        });
    }
    if access.is_some()
        || supervisor.accept_unknown_runners
        || supervisor.store.last_seen(runner).await?.is_some()
    {
        return Ok(());
    }
    let usable = |access: RunnerAccess| access == RunnerAccess::User || caller.role == Role::Admin;
    let known: BTreeSet<&str> = all
        .iter()
        .filter(|(_, access)| usable(*access))
        .map(|(queue, _)| *queue)
        .collect();
    Err(Error::UnknownRunner {
        runner: runner.to_owned(),
        known: known.into_iter().map(str::to_owned).collect(),
    })
}

/// The job `id` when `caller` may see and manage it; another secret's job is not found, as if
/// it did not exist.
///
/// # Errors
///
/// `JobNotFound` when the job does not exist or belongs to another secret.
pub(super) async fn owned_job(
    supervisor: &Supervisor,
    caller: &Caller,
    id: &str,
) -> Result<JobRecord, Error> {
    let record = supervisor.store.job(id).await?;
    if !caller.owns(record.owner.as_deref()) {
        return Err(hero_store::Error::JobNotFound { id: id.to_owned() }.into());
    }
    Ok(record)
}

/// The caller of a method that needs a user or admin secret; the gate checked it before the
/// method runs, so its absence is a method table that lets anyone in.
///
/// # Errors
///
/// [`Error::Unauthorized`] when no secret was checked.
pub(super) fn required(caller: Option<&Caller>) -> Result<&Caller, Error> {
    caller.ok_or(Error::Unauthorized {
        reason: "a secret is required",
    })
}
