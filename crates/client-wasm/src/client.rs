//! [`WasmSupervisorClient`]: the native `SupervisorClient` behind a JavaScript class, and the
//! turn of each native call into a `Promise`.
//!
//! Every method clones the native client (one `Arc` and a URL) into its future, so calls
//! made at the same time do not borrow the JavaScript object and may overlap freely.

use std::future::Future;
use std::time::Duration;

use hero_supervisor_openrpc_client::{ClientError, DEFAULT_TIMEOUT, SupervisorClient};
use js_sys::{Function, Promise};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::{self, Failure};
use crate::websocket::Connect;

/// A client for one supervisor: `new WasmSupervisorClient("http://localhost:3030")`.
///
/// Each method returns a `Promise` that rejects with a `SupervisorError` (`code`, `kind`,
/// `message`, `retryable`). Calls that do not wait for a job time out after 30 s
/// (`with_timeout`); `job_run` and `job_result` wait until the job is final, bounded by the
/// job's own timeout on the server (`with_wait_timeout`).
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct WasmSupervisorClient {
    inner: SupervisorClient,
    /// The constructor subscriptions open their WebSocket with; `None` uses the global one.
    websocket: Option<Function>,
    /// `with_timeout`'s bound, which also bounds a subscription's wait for its acceptance.
    timeout_ms: u32,
}

#[wasm_bindgen]
impl WasmSupervisorClient {
    /// A client for the supervisor at `url`; nothing is sent until the first call.
    ///
    /// # Errors
    ///
    /// Throws a `SupervisorError` of kind `invalid_url` when `url` is not an absolute `http`
    /// or `https` URL, or carries credentials, a query or a fragment.
    #[wasm_bindgen(constructor)]
    pub fn new(url: &str) -> Result<WasmSupervisorClient, JsValue> {
        let inner = SupervisorClient::new(url).map_err(|e| error::to_js(e.into()))?;
        Ok(WasmSupervisorClient {
            inner,
            websocket: None,
            timeout_ms: u32::try_from(DEFAULT_TIMEOUT.as_millis()).unwrap_or(u32::MAX),
        })
    }

    /// The supervisor's URL, as requests are sent to it.
    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.inner.url().to_owned()
    }

    /// A copy of this client whose calls that do not wait for a job give up after `millis`
    /// milliseconds (default 30000), rejecting with kind `transport`.
    pub fn with_timeout(&self, millis: u32) -> WasmSupervisorClient {
        let inner = self.inner.clone().with_timeout(millis_to_duration(millis));
        WasmSupervisorClient {
            inner,
            timeout_ms: millis,
            ..self.clone()
        }
    }

    /// A copy of this client whose `job_run` and `job_result` give up after `millis`
    /// milliseconds (default: no client bound); the job goes on.
    pub fn with_wait_timeout(&self, millis: u32) -> WasmSupervisorClient {
        let inner = self
            .inner
            .clone()
            .with_wait_timeout(millis_to_duration(millis));
        WasmSupervisorClient {
            inner,
            ..self.clone()
        }
    }

    /// A copy of this client whose subscriptions open their connection with `constructor`
    /// (default: the global `WebSocket`), e.g. the `ws` package's `WebSocket` on Node 20,
    /// which has no global one.
    pub fn with_websocket(
        &self,
        #[wasm_bindgen(unchecked_param_type = "WebSocketConstructor")] constructor: Function,
    ) -> WasmSupervisorClient {
        WasmSupervisorClient {
            websocket: Some(constructor),
            ..self.clone()
        }
    }

    /// The supervisor's OpenRPC document (`rpc.discover`).
    #[wasm_bindgen(unchecked_return_type = "Promise<OpenRpcDocument>")]
    pub fn rpc_discover(&self) -> Promise {
        let client = self.native();
        promise(async move { client.rpc_discover().await })
    }
}

impl WasmSupervisorClient {
    /// The native client, to move into a call's future.
    pub(crate) fn native(&self) -> SupervisorClient {
        self.inner.clone()
    }

    /// Where and how a subscription connects: the client's URL with `ws`/`wss` for
    /// `http`/`https`, on the same host, port and path.
    pub(crate) fn connect(&self) -> Connect {
        let url = self.inner.url();
        let url = match url.split_once("://") {
            Some(("https", rest)) => format!("wss://{rest}"),
            Some((_, rest)) => format!("ws://{rest}"),
            None => url.to_owned(),
        };
        Connect {
            url,
            constructor: self.websocket.clone(),
            timeout_ms: self.timeout_ms,
        }
    }
}

fn millis_to_duration(millis: u32) -> Duration {
    Duration::from_millis(u64::from(millis))
}

/// A `Promise` of `call`'s result as plain JavaScript data, or of its `SupervisorError`.
///
/// A `null` result (the methods that return nothing) resolves to `undefined`.
pub(crate) fn promise<T, F>(call: F) -> Promise
where
    T: Serialize,
    F: Future<Output = Result<T, ClientError>> + 'static,
{
    future_to_promise(async move {
        let value = call.await.map_err(|e| error::to_js(e.into()))?;
        to_js_value(&value)
    })
}

/// `value` as JavaScript data, through JSON so the shapes are exactly the wire's.
fn to_js_value<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let json = serde_json::to_value(value).map_err(|e| {
        error::to_js(Failure {
            code: None,
            kind: "invalid_response",
            message: format!("cannot convert the result for JavaScript: {e}"),
            retryable: false,
        })
    })?;
    if json.is_null() {
        return Ok(JsValue::UNDEFINED);
    }
    // Serializing a `serde_json::Value` cannot fail, and JSON.parse reads any JSON text.
    js_sys::JSON::parse(&json.to_string())
}
