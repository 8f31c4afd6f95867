//! Who may reach which runner and which job: each runner's access level, the jobs a secret
//! owns, and the refusal of runners nobody knows. This is the first of two checks: a queue
//! known only from its claims has no level here, so each job also carries its secret's level
//! (set in `job.rs`) and runners whose access is `admin` refuse other jobs themselves.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hero_job::JobRecord;
use hero_store::{RunnerAccess, RunnerRecord, Store};

use crate::auth::{Caller, Role};
use crate::error::Error;
use crate::supervisor::Supervisor;

/// The registered runners as last read from the store, so that a submit need not read them
/// again: that read was a whole store round trip on every `job.run`.
///
/// This supervisor's own registrations and removals drop the copy at once. Another
/// supervisor's show here within [`RunnersCache::FRESH`]: a removal or a tightened access level
/// made there may let a job through for that long, as if it had been submitted a moment
/// earlier (a runner of `admin` access also refuses other jobs itself). A runner not in the
/// copy is looked up again before a job is refused, so a registration made elsewhere is
/// never missed.
#[derive(Debug, Default)]
pub(crate) struct RunnersCache {
    copy: Mutex<Option<(Instant, Arc<Vec<RunnerRecord>>)>>,
}

impl RunnersCache {
    /// How long a copy serves.
    pub(crate) const FRESH: Duration = Duration::from_secs(1);

    /// The registered runners: the copy while it is fresh (unless `reread`), else the store's.
    async fn get(
        &self,
        store: &dyn Store,
        reread: bool,
    ) -> hero_store::Result<Arc<Vec<RunnerRecord>>> {
        if !reread {
            let copy = self.copy.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((read, runners)) = copy.as_ref()
                && read.elapsed() < Self::FRESH
            {
                return Ok(runners.clone());
            }
        }
        let read = Instant::now();
        let runners = Arc::new(store.runners().await?);
        *self.copy.lock().unwrap_or_else(|e| e.into_inner()) = Some((read, runners.clone()));
        Ok(runners)
    }

    /// Drops the copy: the next check reads the store.
    pub(crate) fn forget(&self) {
        *self.copy.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

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
    let cache = &supervisor.known_runners;
    let mut registered = cache.get(supervisor.store.as_ref(), false).await?;
    let mut all = levels(supervisor, &registered);
    let mut access = level(&all, runner);
    if access.is_none() && !supervisor.accept_unknown_runners {
        registered = cache.get(supervisor.store.as_ref(), true).await?;
        all = levels(supervisor, &registered);
        access = level(&all, runner);
    }
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

/// Every runner (queue) this supervisor knows of with its access level: its actors and the
/// store's registrations.
fn levels<'a>(
    supervisor: &'a Supervisor,
    registered: &'a [RunnerRecord],
) -> Vec<(&'a str, RunnerAccess)> {
    let actors = supervisor
        .registry
        .actors()
        .iter()
        .map(|actor| (actor.config.name.as_str(), actor.config.access));
    actors
        .chain(registered.iter().map(|r| (r.queue.as_str(), r.access)))
        .collect()
}

/// The level that guards `runner`: several runners may share a queue, and the strictest
/// one's level counts. `None` for a queue nobody registered.
fn level(all: &[(&str, RunnerAccess)], runner: &str) -> Option<RunnerAccess> {
    all.iter()
        .filter(|(queue, _)| *queue == runner)
        .map(|(_, access)| *access)
        .max()
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
