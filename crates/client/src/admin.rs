//! The admin methods: grant and revoke secrets, describe the supervisor and its metrics'
//! history. All need an admin secret.

use hero_supervisor_api::info::SupervisorInfo;
use hero_supervisor_api::methods::names;
use hero_supervisor_api::metrics::MetricsHistory;
use serde_json::Value;

use crate::client::text;
use crate::{ClientError, SupervisorClient};

impl SupervisorClient {
    /// Grants `secret_value` the level `secret_type` (`admin`, `user` or `register`) on every
    /// supervisor sharing the store, at once and across restarts (`add_secret`).
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidParams`] for an unknown type or a secret outside 8–256 bytes,
    /// [`ClientError::Unauthorized`] for a secret that is not an admin secret.
    pub async fn add_secret(
        &self,
        admin_secret: &str,
        secret_type: &str,
        secret_value: &str,
    ) -> Result<(), ClientError> {
        self.call(
            names::ADD_SECRET,
            [text(admin_secret), text(secret_type), text(secret_value)],
        )
        .await
    }

    /// Revokes `secret_value` of level `secret_type` everywhere, at once (`remove_secret`).
    ///
    /// # Errors
    ///
    /// [`ClientError::NotFound`] when the secret does not grant that level,
    /// [`ClientError::Conflict`] when it is the last admin secret.
    pub async fn remove_secret(
        &self,
        admin_secret: &str,
        secret_type: &str,
        secret_value: &str,
    ) -> Result<(), ClientError> {
        self.call(
            names::REMOVE_SECRET,
            [text(admin_secret), text(secret_type), text(secret_value)],
        )
        .await
    }

    /// Version, backend and its status, namespace, uptime, and runner and job counts by
    /// status (`get_supervisor_info`), typed.
    ///
    /// # Errors
    ///
    /// [`ClientError::Unauthorized`] for a secret that is not an admin secret.
    pub async fn supervisor_info(&self, admin_secret: &str) -> Result<SupervisorInfo, ClientError> {
        self.call(names::GET_SUPERVISOR_INFO, [text(admin_secret)])
            .await
    }

    /// The same answer as [`supervisor_info`](Self::supervisor_info), as JSON, for programs
    /// that read it generically (and written before the typed form existed); fields added
    /// by newer supervisors are kept.
    ///
    /// # Errors
    ///
    /// As `supervisor_info`.
    pub async fn get_supervisor_info(&self, admin_secret: &str) -> Result<Value, ClientError> {
        self.call(names::GET_SUPERVISOR_INFO, [text(admin_secret)])
            .await
    }

    /// Throughput, latency percentiles and load over the last hour, one sample per interval
    /// since the supervisor started, oldest first (`metrics.history`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Unauthorized`] for a secret that is not an admin secret.
    pub async fn metrics_history(&self, admin_secret: &str) -> Result<MetricsHistory, ClientError> {
        self.call(names::METRICS_HISTORY, [text(admin_secret)])
            .await
    }
}
