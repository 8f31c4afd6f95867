//! The RPC module: every method of the API table registered with one handler that
//! parses params, authorizes, and dispatches to its method group (`job`, `schedule`,
//! `runner`, `admin`, `events`, and `endpoint` for runners' store calls), and counts the
//! call for `/metrics`.

mod access;
mod admin;
mod endpoint;
mod events;
mod job;
mod runner;
mod schedule;

pub(crate) use access::RunnersCache;
pub(crate) use admin::backend;
pub(crate) use runner::seen_recently;

use std::sync::Arc;

use hero_supervisor_api::methods::{self, Access, Method, names};
use hero_supervisor_api::{Secret, openrpc, params};
use jsonrpsee::RpcModule;
use jsonrpsee::types::ErrorObjectOwned;
use serde_json::{Map, Value};
use tracing::Instrument;

use crate::auth::{self, Caller};
use crate::error::Error;
use crate::supervisor::Supervisor;

/// The module serving exactly the methods of [`methods::ALL`].
pub(crate) fn module(supervisor: Arc<Supervisor>) -> RpcModule<Supervisor> {
    let mut module = RpcModule::from_arc(supervisor);
    for method in methods::ALL {
        module
            .register_async_method(method.name, move |raw, supervisor, _| async move {
                let started = std::time::Instant::now();
                let answer = call(&supervisor, method, raw.as_str())
                    .await
                    .map_err(ErrorObjectOwned::from);
                let code = answer.as_ref().map_or_else(ErrorObjectOwned::code, |_| 0);
                supervisor.metrics.rpc(method.name, code, started.elapsed());
                answer
            })
            .expect("the method table holds each name once");
    }
    module
        .register_subscription(
            names::RUNNER_LOGS_SUBSCRIBE,
            names::RUNNER_LOGS_LINE,
            names::RUNNER_LOGS_UNSUBSCRIBE,
            |raw, pending, supervisor, _| async move {
                runner::follow_logs(&supervisor, raw.as_str(), pending).await
            },
        )
        .expect("the subscription names are not methods");
    module
        .register_subscription(
            names::JOBS_SUBSCRIBE,
            names::JOBS_EVENT,
            names::JOBS_UNSUBSCRIBE,
            |raw, pending, supervisor, _| async move {
                events::subscribe(supervisor, raw.as_str(), pending).await
            },
        )
        .expect("the subscription names are not methods");
    module
}

/// Parses params and checks the secret: the gate every call, method or subscription, passes.
/// Returns the params by name, and the caller when a secret was checked.
pub(crate) async fn admit(
    supervisor: &Supervisor,
    method: &'static Method,
    raw: Option<&str>,
) -> Result<(Map<String, Value>, Option<Caller>), Error> {
    let named = params::named(method, raw)?;
    let caller = admit_named(supervisor, method, &named).await?;
    Ok((named, caller))
}

/// [`admit`] for params already mapped to their names.
async fn admit_named(
    supervisor: &Supervisor,
    method: &'static Method,
    named: &Map<String, Value>,
) -> Result<Option<Caller>, Error> {
    if method.access != Access::Anyone {
        // Grants changed by any supervisor sharing the store apply from the next call on.
        supervisor.secrets.refresh(supervisor.store.as_ref()).await;
    }
    authorize(supervisor, method, named)
}

async fn call(
    supervisor: &Supervisor,
    method: &'static Method,
    raw: Option<&str>,
) -> Result<Value, Error> {
    if method.name == names::JOBS_CREATE_MANY {
        // The jobs go from the request's text straight into their type (see
        // `params::named_lazy`); the secret is checked before they are read.
        let (named, jobs) = params::named_lazy(method, raw, "jobs")?;
        let caller = admit_named(supervisor, method, &named).await?;
        let span = tracing::debug_span!("rpc", method = method.name);
        return job::create_many(supervisor, method, named, jobs, caller.as_ref())
            .instrument(span)
            .await;
    }
    let (named, caller) = admit(supervisor, method, raw).await?;
    let span = tracing::debug_span!("rpc", method = method.name);
    match method.name {
        names::RPC_DISCOVER => Ok(openrpc::document(env!("CARGO_PKG_VERSION"))),
        names::REGISTER_RUNNER
        | names::UNREGISTER_RUNNER
        | names::LIST_RUNNERS
        | names::START_RUNNER
        | names::STOP_RUNNER
        | names::GET_RUNNER_STATUS
        | names::GET_RUNNER_LOGS => {
            runner::call(supervisor, method, named, caller.as_ref())
                .instrument(span)
                .await
        }
        names::SCHEDULES_CREATE | names::SCHEDULES_LIST | names::SCHEDULES_DELETE => {
            schedule::call(supervisor, method, named, caller.as_ref())
                .instrument(span)
                .await
        }
        names::RUNNER_CLAIM
        | names::RUNNER_HEARTBEAT
        | names::RUNNER_FINISH
        | names::RUNNER_PROGRESS
        | names::RUNNER_PUT_WORKER_STATS
        | names::RUNNER_HEALTH => {
            endpoint::call(supervisor, method, named)
                .instrument(span)
                .await
        }
        names::ADD_SECRET
        | names::REMOVE_SECRET
        | names::GET_SUPERVISOR_INFO
        | names::METRICS_HISTORY => {
            admin::call(supervisor, method, named)
                .instrument(span)
                .await
        }
        _ => {
            job::call(supervisor, method, named, caller.as_ref())
                .instrument(span)
                .await
        }
    }
}

/// Checks the secret before anything else is parsed, so an unauthorized caller learns
/// nothing about the rest of its params.
fn authorize(
    supervisor: &Supervisor,
    method: &'static Method,
    named: &Map<String, Value>,
) -> Result<Option<Caller>, Error> {
    let secret_param = method
        .params
        .iter()
        .find(|p| p.name.ends_with("secret"))
        .map(|p| p.name);
    let secret = match secret_param.and_then(|name| named.get(name)) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(Secret::new(text.as_str())),
        // Not a secret at all: as good as none, which methods open to job holders accept.
        Some(_) => Some(Secret::default()),
    };
    auth::authorize(
        &supervisor.secrets,
        method.access,
        secret.as_ref(),
        supervisor.require_secret_for_reads,
    )
}
