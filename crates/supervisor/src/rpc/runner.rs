//! The runner methods: local actors through their process managers, remote runners through
//! their registration and their activity on the store.

use chrono::{DateTime, Utc};
use hero_store::{RunnerAccess, RunnerRecord};
use hero_supervisor_api::methods::{Method, names};
use hero_supervisor_api::params::{
    self, ActorParams, FollowLogsParams, RegisterRunnerParams, RunnerLogsParams, RunnerNameParams,
    StopRunnerParams,
};
use hero_supervisor_api::runner::{self as wire, RunnerInfo, RunnerKind, RunnerState};
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{PendingSubscriptionSink, SubscriptionMessage};
use serde_json::{Map, Value};
use tokio::sync::broadcast::error::RecvError;

use crate::auth::{Caller, Role};
use crate::error::Error;
use crate::registry::Actor;
use crate::supervisor::Supervisor;

/// A remote runner seen within this time counts as running: it claims at least every second
/// and heartbeats every 500 ms while busy.
const ONLINE_WINDOW: chrono::Duration = chrono::Duration::seconds(5);

/// Lines `get_runner_logs` returns by default.
const DEFAULT_LOG_LINES: usize = 100;

pub(super) async fn call(
    supervisor: &Supervisor,
    method: &'static Method,
    named: Map<String, Value>,
    caller: Option<&Caller>,
) -> Result<Value, Error> {
    match method.name {
        names::REGISTER_RUNNER => {
            let p: RegisterRunnerParams = params::parse(method, named)?;
            register(supervisor, p, caller).await
        }
        names::UNREGISTER_RUNNER => {
            let p: RunnerNameParams = params::parse(method, named)?;
            hero_job::validate_id("name", &p.name)?;
            if supervisor.registry.get(&p.name).is_some() {
                return Err(Error::ConfiguredRunner { name: p.name });
            }
            supervisor.store.unregister_runner(&p.name).await?;
            supervisor.known_runners.forget();
            tracing::info!(runner = %p.name, "runner unregistered");
            Ok(Value::Null)
        }
        names::LIST_RUNNERS => Ok(to_value(&all(supervisor).await?)),
        names::START_RUNNER => {
            let p: ActorParams = params::parse(method, named)?;
            local(supervisor, &p.actor_id, "started")
                .await?
                .process
                .start()
                .await?;
            Ok(Value::Null)
        }
        names::STOP_RUNNER => {
            let p: StopRunnerParams = params::parse(method, named)?;
            let actor = local(supervisor, &p.actor_id, "stopped").await?;
            actor.process.stop(p.force.unwrap_or(false)).await?;
            Ok(Value::Null)
        }
        names::GET_RUNNER_STATUS => {
            let p: ActorParams = params::parse(method, named)?;
            hero_job::validate_id("actor_id", &p.actor_id)?;
            Ok(to_value(&info(supervisor, &p.actor_id).await?))
        }
        names::GET_RUNNER_LOGS => {
            let p: RunnerLogsParams = params::parse(method, named)?;
            let lines = p
                .lines
                .unwrap_or(DEFAULT_LOG_LINES)
                .clamp(1, supervisor.max_log_lines);
            let actor = local(supervisor, &p.actor_id, "read from here").await?;
            Ok(to_value(&actor.process.logs(lines)))
        }
        other => Err(Error::NotServed { method: other }),
    }
}

/// Every local actor, then every registered runner.
pub(super) async fn all(supervisor: &Supervisor) -> Result<Vec<RunnerInfo>, Error> {
    let mut infos = Vec::new();
    for actor in supervisor.registry.actors() {
        infos.push(local_info(supervisor, actor).await?);
    }
    for runner in supervisor.store.runners().await? {
        infos.push(remote_info(supervisor, &runner).await?);
    }
    Ok(infos)
}

/// Registers a runner. Only an admin secret may register one on a configured actor's queue:
/// the strictest level of a queue guards it, so a register secret claiming `admin` there
/// would lock users out of a runner the configuration opened to them.
async fn register(
    supervisor: &Supervisor,
    p: RegisterRunnerParams,
    caller: Option<&Caller>,
) -> Result<Value, Error> {
    hero_job::validate_id("name", &p.name)?;
    let queue = p.queue.unwrap_or_else(|| p.name.clone());
    hero_job::validate_id("queue", &queue)?;
    let access = match p.access.as_deref() {
        None => RunnerAccess::User,
        Some(text) => RunnerAccess::parse(text).ok_or(Error::BadAccess)?,
    };
    if supervisor.registry.get(&p.name).is_some() {
        return Err(hero_store::Error::RunnerExists { name: p.name }.into());
    }
    let by_admin = caller.is_some_and(|caller| caller.role == Role::Admin);
    if !by_admin && supervisor.registry.serving(&queue).is_some() {
        return Err(Error::ConfiguredQueue { queue });
    }
    let record = RunnerRecord {
        name: p.name.clone(),
        queue,
        access,
        registered_at: Utc::now(),
    };
    supervisor.store.register_runner(&record).await?;
    supervisor.known_runners.forget();
    tracing::info!(
        runner = %record.name,
        queue = %record.queue,
        access = access.as_str(),
        "runner registered"
    );
    Ok(Value::String(p.name))
}

/// The local actor `id`; a remote runner or an unknown name is an error saying so.
async fn local<'a>(
    supervisor: &'a Supervisor,
    id: &str,
    action: &'static str,
) -> Result<&'a Actor, Error> {
    hero_job::validate_id("actor_id", id)?;
    if let Some(actor) = supervisor.registry.get(id) {
        return Ok(actor);
    }
    let remote = supervisor.store.runners().await?;
    if remote.iter().any(|runner| runner.name == id) {
        return Err(Error::RemoteRunner { action });
    }
    Err(Error::RunnerNotFound)
}

async fn info(supervisor: &Supervisor, id: &str) -> Result<RunnerInfo, Error> {
    if let Some(actor) = supervisor.registry.get(id) {
        return local_info(supervisor, actor).await;
    }
    let remote = supervisor.store.runners().await?;
    match remote.iter().find(|runner| runner.name == id) {
        Some(runner) => remote_info(supervisor, runner).await,
        None => Err(Error::RunnerNotFound),
    }
}

async fn local_info(supervisor: &Supervisor, actor: &Actor) -> Result<RunnerInfo, Error> {
    let status = actor.process.status();
    let queue = &actor.config.name;
    Ok(RunnerInfo {
        name: actor.config.id.clone(),
        queue: queue.clone(),
        kind: RunnerKind::Local,
        access: wire_access(actor.config.access),
        status: local_state(status.state),
        pid: status.pid,
        process_manager: Some(match &actor.config.process_manager {
            crate::config::ProcessManagerKind::Simple => "simple".to_owned(),
            crate::config::ProcessManagerKind::Tmux { session } => format!("tmux:{session}"),
        }),
        queue_length: supervisor.store.queue_len(queue).await?,
        restarts: status.restarts,
        last_exit: status.last_exit,
        last_seen: supervisor.store.last_seen(queue).await?,
    })
}

async fn remote_info(supervisor: &Supervisor, runner: &RunnerRecord) -> Result<RunnerInfo, Error> {
    let last_seen = supervisor.store.last_seen(&runner.queue).await?;
    Ok(RunnerInfo {
        name: runner.name.clone(),
        queue: runner.queue.clone(),
        kind: RunnerKind::Remote,
        access: wire_access(runner.access),
        status: remote_state(last_seen, Utc::now()),
        pid: None,
        process_manager: None,
        queue_length: supervisor.store.queue_len(&runner.queue).await?,
        restarts: 0,
        last_exit: None,
        last_seen,
    })
}

fn wire_access(access: RunnerAccess) -> wire::RunnerAccess {
    match access {
        RunnerAccess::User => wire::RunnerAccess::User,
        RunnerAccess::Admin => wire::RunnerAccess::Admin,
    }
}

fn local_state(state: hero_process::ProcessState) -> RunnerState {
    use hero_process::ProcessState as P;
    match state {
        P::Starting => RunnerState::Starting,
        P::Running => RunnerState::Running,
        P::Backoff => RunnerState::Backoff,
        P::Stopping => RunnerState::Stopping,
        P::Stopped => RunnerState::Stopped,
        P::Failed => RunnerState::Failed,
        _ => RunnerState::Unknown,
    }
}

/// True when a runner of `queue` last seen at `last_seen` counts as up: it claimed within
/// [`ONLINE_WINDOW`], as `list_runners` shows a remote runner `running`.
pub(crate) fn seen_recently(last_seen: Option<DateTime<Utc>>) -> bool {
    remote_state(last_seen, Utc::now()) == RunnerState::Running
}

/// Running when seen within [`ONLINE_WINDOW`], offline when seen before, unknown when never.
fn remote_state(last_seen: Option<DateTime<Utc>>, now: DateTime<Utc>) -> RunnerState {
    match last_seen {
        Some(seen) if now - seen <= ONLINE_WINDOW => RunnerState::Running,
        Some(_) => RunnerState::Offline,
        None => RunnerState::Unknown,
    }
}

/// Why a queued job on `queue` is still waiting, when its runner looks absent.
pub(super) async fn waiting_reason(
    supervisor: &Supervisor,
    queue: &str,
) -> Result<Option<String>, Error> {
    if let Some(actor) = supervisor.registry.serving(queue) {
        let state = local_state(actor.process.status().state);
        return Ok((state != RunnerState::Running).then(|| {
            format!(
                "waiting: runner `{}` is {}",
                actor.config.id,
                state.as_str()
            )
        }));
    }
    let last_seen = supervisor.store.last_seen(queue).await?;
    Ok(match remote_state(last_seen, Utc::now()) {
        RunnerState::Running => None,
        _ => Some(match last_seen {
            Some(seen) => format!(
                "waiting: no runner has taken jobs from `{queue}` since {}",
                seen.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            None => format!("waiting: no runner has ever taken jobs from `{queue}`"),
        }),
    })
}

/// `runner_logs.subscribe`: the last lines, then every new one, until the client
/// unsubscribes or goes away.
pub(super) async fn follow_logs(
    supervisor: &Supervisor,
    raw: Option<&str>,
    pending: PendingSubscriptionSink,
) -> SubscriptionResult {
    let method = hero_supervisor_api::methods::find(names::RUNNER_LOGS_SUBSCRIBE)
        .expect("the subscription is declared");
    let admitted = async {
        let (named, _) = super::admit(supervisor, method, raw).await?;
        let p: FollowLogsParams = params::parse(method, named)?;
        let actor = local(supervisor, &p.actor_id, "followed from here").await?;
        Ok::<_, Error>((
            actor,
            p.lines
                .unwrap_or(DEFAULT_LOG_LINES)
                .clamp(1, supervisor.max_log_lines),
        ))
    };
    let (actor, lines) = match admitted.await {
        Ok(admitted) => admitted,
        Err(error) => {
            pending.reject(ErrorObjectOwned::from(error)).await;
            return Ok(());
        }
    };
    // Subscribed before the past lines are read, so no line falls between the two.
    let mut new_lines = actor.process.subscribe_logs();
    let sink = pending.accept().await?;
    for line in actor.process.logs(lines) {
        sink.send(SubscriptionMessage::from(serde_json::value::to_raw_value(
            &line,
        )?))
        .await?;
    }
    loop {
        let line = tokio::select! {
            () = sink.closed() => return Ok(()),
            line = new_lines.recv() => line,
        };
        let line = match line {
            Ok(line) => line,
            Err(RecvError::Lagged(skipped)) => format!("[{skipped} lines skipped]"),
            Err(RecvError::Closed) => return Ok(()),
        };
        sink.send(SubscriptionMessage::from(serde_json::value::to_raw_value(
            &line,
        )?))
        .await?;
    }
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("runner types serialize to JSON without fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_runner_is_running_only_while_seen_recently() {
        let now = Utc::now();
        assert_eq!(remote_state(None, now), RunnerState::Unknown);
        assert_eq!(
            remote_state(Some(now - chrono::Duration::seconds(1)), now),
            RunnerState::Running
        );
        assert_eq!(
            remote_state(Some(now - chrono::Duration::seconds(60)), now),
            RunnerState::Offline
        );
    }
}
