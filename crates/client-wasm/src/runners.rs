//! The runner methods, one per method of the native client. All but `register_runner` need
//! an admin secret.

use hero_supervisor_api::methods::names;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use crate::WasmSupervisorClient;
use crate::client::promise;
use crate::websocket::{self, Names};

/// The wire names of `runner_logs_subscribe`.
const RUNNER_LOGS: Names = Names {
    subscribe: names::RUNNER_LOGS_SUBSCRIBE,
    notification: names::RUNNER_LOGS_LINE,
    unsubscribe: names::RUNNER_LOGS_UNSUBSCRIBE,
};

#[wasm_bindgen]
impl WasmSupervisorClient {
    /// Registers a runner started by hand under `name`, taking jobs from `queue` (default: the
    /// name), open to `access` (`"user"`, the default, or `"admin"`), and resolves to the
    /// name (`register_runner`).
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn register_runner(
        &self,
        secret: String,
        name: String,
        queue: Option<String>,
        access: Option<String>,
    ) -> Promise {
        let client = self.native();
        promise(async move {
            client
                .register_runner_with_access(&secret, &name, queue.as_deref(), access.as_deref())
                .await
        })
    }

    /// Removes the registration of the runner registered as `name` (`unregister_runner`).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn unregister_runner(&self, secret: String, name: String) -> Promise {
        let client = self.native();
        promise(async move { client.unregister_runner(&secret, &name).await })
    }

    /// Every local and remote runner with its state (`list_runners`).
    #[wasm_bindgen(unchecked_return_type = "Promise<RunnerInfo[]>")]
    pub fn list_runners(&self, secret: String) -> Promise {
        let client = self.native();
        promise(async move { client.list_runners(&secret).await })
    }

    /// Starts a local runner, or re-enables its restarts (`start_runner`).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn start_runner(&self, secret: String, actor_id: String) -> Promise {
        let client = self.native();
        promise(async move { client.start_runner(&secret, &actor_id).await })
    }

    /// Stops a local runner: gracefully, or at once with `force` (default false)
    /// (`stop_runner`).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn stop_runner(&self, secret: String, actor_id: String, force: Option<bool>) -> Promise {
        let client = self.native();
        let force = force.unwrap_or(false);
        promise(async move { client.stop_runner(&secret, &actor_id, force).await })
    }

    /// One runner's state (`get_runner_status`).
    #[wasm_bindgen(unchecked_return_type = "Promise<RunnerInfo>")]
    pub fn get_runner_status(&self, secret: String, actor_id: String) -> Promise {
        let client = self.native();
        promise(async move { client.get_runner_status(&secret, &actor_id).await })
    }

    /// The last `lines` lines (default: the server's, 100) a local runner wrote, oldest first
    /// (`get_runner_logs`).
    #[wasm_bindgen(unchecked_return_type = "Promise<string[]>")]
    pub fn get_runner_logs(&self, secret: String, actor_id: String, lines: Option<u32>) -> Promise {
        let client = self.native();
        let lines = lines.and_then(|n| usize::try_from(n).ok());
        promise(async move { client.get_runner_logs(&secret, &actor_id, lines).await })
    }

    /// Follows a local runner's output over WebSocket (`runner_logs.subscribe`): the last
    /// `lines` lines (default 100), then each new line as it is written. Resolves to a
    /// `WasmSubscription` once the supervisor accepted; each line goes to `on_line` when
    /// given, else to the subscription's async iterator. Lines the connection could not keep
    /// up with arrive as one line `[N lines skipped]`.
    #[wasm_bindgen(unchecked_return_type = "Promise<WasmSubscription<string>>")]
    pub fn runner_logs_subscribe(
        &self,
        secret: String,
        actor_id: String,
        #[wasm_bindgen(unchecked_optional_param_type = "((line: string) => void) | null")]
        on_line: Option<Function>,
        #[wasm_bindgen(unchecked_optional_param_type = "number | null")] lines: Option<u32>,
    ) -> Promise {
        let mut params = serde_json::json!({"secret": secret, "actor_id": actor_id});
        if let Some(lines) = lines {
            params["lines"] = lines.into();
        }
        websocket::open(self.connect(), RUNNER_LOGS, params, on_line)
    }
}
