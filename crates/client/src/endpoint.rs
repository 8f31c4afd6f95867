//! The runner endpoint's methods (`runner.claim`, …): the store calls of a runner that
//! reaches the store through the supervisor over HTTP. They need a register or admin secret;
//! the runner SDK's `RemoteStore` is their usual caller.

use hero_supervisor_api::endpoint::Attempt;
use hero_supervisor_api::endpoint::{
    ClaimParams, Claimed, FinishParams, HeartbeatParams, ProgressParams, WorkerStatsParams,
};
use hero_supervisor_api::methods::names;
use serde::Serialize;
use serde_json::Value;

use crate::client::text;
use crate::{ClientError, SupervisorClient};

fn value<T: Serialize>(value: &T) -> Option<Value> {
    Some(serde_json::to_value(value).expect("wire types serialize: plain structs"))
}

impl SupervisorClient {
    /// Takes up to `params.most` jobs of `params.queue` for `params.worker`, waiting up to
    /// `params.wait_ms` (at most 30 s) for the first (`runner.claim`).
    ///
    /// The call waits on the server for as long as that: give this client a timeout above
    /// it ([`with_timeout`](Self::with_timeout)).
    ///
    /// # Errors
    ///
    /// [`ClientError::Unauthorized`] without a register or admin secret,
    /// [`ClientError::InvalidParams`] for params out of bounds,
    /// [`ClientError::BackendUnavailable`] when the store cannot be reached.
    pub async fn runner_claim(
        &self,
        secret: &str,
        params: &ClaimParams,
    ) -> Result<Vec<Claimed>, ClientError> {
        self.call(
            names::RUNNER_CLAIM,
            [
                text(secret),
                text(&params.queue),
                text(&params.worker),
                value(&params.lease_ms),
                value(&params.wait_ms),
                value(&params.most),
            ],
        )
        .await
    }

    /// Renews a worker's lease; returns the runs among `params.running` it must give up
    /// (`runner.heartbeat`).
    ///
    /// # Errors
    ///
    /// As [`runner_claim`](Self::runner_claim).
    pub async fn runner_heartbeat(
        &self,
        secret: &str,
        params: &HeartbeatParams,
    ) -> Result<Vec<Attempt>, ClientError> {
        self.call(
            names::RUNNER_HEARTBEAT,
            [
                text(secret),
                text(&params.worker),
                value(&params.lease_ms),
                value(&params.running),
            ],
        )
        .await
    }

    /// Reports how a run ended; `false` when the worker no longer holds that attempt
    /// (`runner.finish`).
    ///
    /// # Errors
    ///
    /// As [`runner_claim`](Self::runner_claim).
    pub async fn runner_finish(
        &self,
        secret: &str,
        params: &FinishParams,
    ) -> Result<bool, ClientError> {
        self.call(
            names::RUNNER_FINISH,
            [
                text(secret),
                text(&params.worker),
                value(&params.attempt),
                value(&params.status),
                value(&params.result),
            ],
        )
        .await
    }

    /// Records a run's progress; `false` unless the run is still the worker's
    /// (`runner.progress`).
    ///
    /// # Errors
    ///
    /// As [`runner_claim`](Self::runner_claim).
    pub async fn runner_progress(
        &self,
        secret: &str,
        params: &ProgressParams,
    ) -> Result<bool, ClientError> {
        self.call(
            names::RUNNER_PROGRESS,
            [
                text(secret),
                text(&params.worker),
                value(&params.attempt),
                value(&params.progress),
            ],
        )
        .await
    }

    /// Records what a worker reports of itself (`runner.put_worker_stats`).
    ///
    /// # Errors
    ///
    /// As [`runner_claim`](Self::runner_claim).
    pub async fn runner_put_worker_stats(
        &self,
        secret: &str,
        params: &WorkerStatsParams,
    ) -> Result<(), ClientError> {
        let _: Value = self
            .call(
                names::RUNNER_PUT_WORKER_STATS,
                [text(secret), value(&params.stats), value(&params.ttl_ms)],
            )
            .await?;
        Ok(())
    }

    /// Checks that the supervisor and its store answer, and that `secret` may make a
    /// runner's calls (`runner.health`).
    ///
    /// # Errors
    ///
    /// As [`runner_claim`](Self::runner_claim).
    pub async fn runner_health(&self, secret: &str) -> Result<(), ClientError> {
        let _: Value = self.call(names::RUNNER_HEALTH, [text(secret)]).await?;
        Ok(())
    }
}
