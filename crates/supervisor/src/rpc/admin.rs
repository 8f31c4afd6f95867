//! The admin methods: grant and revoke secrets, describe the supervisor, and its metrics'
//! history.

use hero_supervisor_api::info::{BackendInfo, BackendStatus, Counts, SupervisorInfo};
use hero_supervisor_api::methods::{Method, names};
use hero_supervisor_api::metrics::MetricsHistory;
use hero_supervisor_api::params::{self, SecretChangeParams};
use serde_json::{Map, Value};

use crate::auth::{self, REVOKED, Role};
use crate::error::Error;
use crate::supervisor::Supervisor;

/// Shortest and longest secret `add_secret` accepts.
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 8..=256;

pub(super) async fn call(
    supervisor: &Supervisor,
    method: &'static Method,
    named: Map<String, Value>,
) -> Result<Value, Error> {
    match method.name {
        names::ADD_SECRET => {
            let p: SecretChangeParams = params::parse(method, named)?;
            let role = role(&p.secret_type)?;
            if !SECRET_BYTES.contains(&p.secret_value.expose().len()) {
                return Err(Error::BadSecret {
                    reason: "a secret must be 8 to 256 bytes",
                });
            }
            let hash = auth::hash(&p.secret_value);
            let config_admins = supervisor.secrets.config_admins();
            let store = supervisor.store.as_ref();
            if !store
                .put_secret_grant(&hash, role.as_str(), &config_admins)
                .await?
            {
                return Err(Error::LastAdminSecret { action: "demoted" });
            }
            supervisor.secrets.mark_stale();
            tracing::info!(level = role.as_str(), "secret added");
            Ok(Value::Null)
        }
        names::REMOVE_SECRET => {
            let p: SecretChangeParams = params::parse(method, named)?;
            let role = role(&p.secret_type)?;
            let secrets = &supervisor.secrets;
            secrets.refresh(supervisor.store.as_ref()).await;
            if secrets.role_of(&p.secret_value) != Some(role) {
                return Err(Error::SecretNotFound);
            }
            let hash = auth::hash(&p.secret_value);
            let config_admins = secrets.config_admins();
            let store = supervisor.store.as_ref();
            if !store
                .put_secret_grant(&hash, REVOKED, &config_admins)
                .await?
            {
                return Err(Error::LastAdminSecret { action: "removed" });
            }
            secrets.mark_stale();
            tracing::info!(level = role.as_str(), "secret removed");
            Ok(Value::Null)
        }
        names::GET_SUPERVISOR_INFO => info(supervisor).await,
        names::METRICS_HISTORY => {
            let history = MetricsHistory {
                interval_secs: supervisor.metrics.interval_secs,
                samples: supervisor.metrics.samples(),
            };
            Ok(serde_json::to_value(history).expect("the history serializes to JSON"))
        }
        other => Err(Error::NotServed { method: other }),
    }
}

fn role(secret_type: &str) -> Result<Role, Error> {
    Role::parse(secret_type).ok_or(Error::BadSecret {
        reason: "secret_type must be `admin`, `user` or `register`",
    })
}

async fn info(supervisor: &Supervisor) -> Result<Value, Error> {
    let store = supervisor.store.as_ref();
    let jobs = store.job_counts().await?;
    let runners = super::runner::all(supervisor).await?;
    let info = SupervisorInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        backend: backend(supervisor).await,
        namespace: supervisor.namespace.clone(),
        uptime_secs: supervisor.started.elapsed().as_secs(),
        runners: Counts::from_pairs(runners.iter().map(|r| (r.status.as_str(), 1))),
        jobs: Counts::from_pairs(jobs.iter().map(|(s, n)| (s.as_str(), *n))),
    };
    Ok(serde_json::to_value(info).expect("the info serializes to JSON"))
}

/// How long the backend may take to answer before it counts as unavailable.
const BACKEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The store's kind and whether it answers within [`BACKEND_TIMEOUT`].
pub(crate) async fn backend(supervisor: &Supervisor) -> BackendInfo {
    let status = match tokio::time::timeout(BACKEND_TIMEOUT, supervisor.store.health()).await {
        Ok(Ok(())) => BackendStatus::Ok,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "store unavailable");
            BackendStatus::Unavailable
        }
        Err(_) => BackendStatus::Unavailable,
    };
    BackendInfo {
        kind: supervisor.backend.to_owned(),
        status,
    }
}
