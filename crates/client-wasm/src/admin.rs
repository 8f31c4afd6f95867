//! The admin methods, one per method of the native client. All need an admin secret.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::WasmSupervisorClient;
use crate::client::promise;

#[wasm_bindgen]
impl WasmSupervisorClient {
    /// Grants `secret_value` the level `secret_type` (`admin`, `user` or `register`)
    /// (`add_secret`).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn add_secret(
        &self,
        admin_secret: String,
        secret_type: String,
        secret_value: String,
    ) -> Promise {
        let client = self.native();
        promise(async move {
            client
                .add_secret(&admin_secret, &secret_type, &secret_value)
                .await
        })
    }

    /// Revokes `secret_value` of level `secret_type` (`remove_secret`); the last admin secret
    /// cannot be removed.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn remove_secret(
        &self,
        admin_secret: String,
        secret_type: String,
        secret_value: String,
    ) -> Promise {
        let client = self.native();
        promise(async move {
            client
                .remove_secret(&admin_secret, &secret_type, &secret_value)
                .await
        })
    }

    /// Version, backend and its status, namespace, uptime, and runner and job counts
    /// (`get_supervisor_info`).
    #[wasm_bindgen(unchecked_return_type = "Promise<SupervisorInfo>")]
    pub fn get_supervisor_info(&self, admin_secret: String) -> Promise {
        let client = self.native();
        promise(async move { client.get_supervisor_info(&admin_secret).await })
    }

    /// Throughput, latency percentiles and load over the last hour, one sample per interval
    /// since the supervisor started, oldest first (`metrics.history`).
    #[wasm_bindgen(unchecked_return_type = "Promise<MetricsHistory>")]
    pub fn metrics_history(&self, admin_secret: String) -> Promise {
        let client = self.native();
        promise(async move { client.metrics_history(&admin_secret).await })
    }
}
