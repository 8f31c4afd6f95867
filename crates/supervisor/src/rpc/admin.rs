//! The admin methods: grant and revoke secrets, and describe the supervisor.

use std::collections::BTreeMap;

use hero_supervisor_api::methods::{Method, names};
use hero_supervisor_api::params::{self, SecretChangeParams};
use serde_json::{Map, Value, json};

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
            let secrets = &supervisor.secrets;
            if role != Role::Admin
                && secrets.role_of(&p.secret_value) == Some(Role::Admin)
                && secrets.admins_except(&hash) == 0
            {
                return Err(Error::LastAdminSecret { action: "demoted" });
            }
            supervisor
                .store
                .put_secret_grant(&hash, role.as_str())
                .await?;
            tracing::info!(level = role.as_str(), "secret added");
            Ok(Value::Null)
        }
        names::REMOVE_SECRET => {
            let p: SecretChangeParams = params::parse(method, named)?;
            let role = role(&p.secret_type)?;
            let secrets = &supervisor.secrets;
            secrets.refresh(supervisor.store.as_ref()).await?;
            if secrets.role_of(&p.secret_value) != Some(role) {
                return Err(Error::SecretNotFound);
            }
            let hash = auth::hash(&p.secret_value);
            if role == Role::Admin && secrets.admins_except(&hash) == 0 {
                return Err(Error::LastAdminSecret { action: "removed" });
            }
            supervisor.store.put_secret_grant(&hash, REVOKED).await?;
            tracing::info!(level = role.as_str(), "secret removed");
            Ok(Value::Null)
        }
        names::GET_SUPERVISOR_INFO => info(supervisor).await,
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
    let backend_status = match store.health().await {
        Ok(()) => "ok",
        Err(_) => "unavailable",
    };
    let jobs = store.job_counts().await?;
    let jobs_total: u64 = jobs.values().sum();
    let jobs_by_status: BTreeMap<&str, u64> = jobs.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    let runners = super::runner::all(supervisor).await?;
    let mut runners_by_status: BTreeMap<String, u64> = BTreeMap::new();
    for runner in &runners {
        let status = serde_json::to_value(runner.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        *runners_by_status.entry(status).or_default() += 1;
    }
    Ok(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "backend": {"kind": supervisor.backend, "status": backend_status},
        "namespace": supervisor.namespace,
        "uptime_secs": supervisor.started.elapsed().as_secs(),
        "runners": {"total": runners.len(), "by_status": runners_by_status},
        "jobs": {"total": jobs_total, "by_status": jobs_by_status},
    }))
}
