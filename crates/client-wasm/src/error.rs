//! Failures as JavaScript sees them: an `Error` named `SupervisorError` carrying the
//! contract's `code` (or `null` for a local failure), a `kind` to branch on, and `retryable`.
//!
//! [`Failure`] is the plain-Rust description, testable off wasm; [`to_js`] builds the object.

use hero_supervisor_api::codes;
use hero_supervisor_openrpc_client::ClientError;
use js_sys::Reflect;
use wasm_bindgen::JsValue;

/// What JavaScript learns about a failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The JSON-RPC error code the server answered with; `None` for a local failure.
    pub code: Option<i32>,
    /// A stable name for the failure: `unauthorized`, `not_found`, `conflict`,
    /// `backend_unavailable`, `invalid_params`, `wait_timed_out`, `rpc`, `transport`,
    /// `invalid_url`, `invalid_response`, `invalid_job` or `unknown`.
    pub kind: &'static str,
    /// The server's message as it sent it, or the client's own explanation. Never a secret:
    /// [`ClientError`] holds none.
    pub message: String,
    /// True when the same call may succeed later unchanged.
    pub retryable: bool,
}

impl From<&ClientError> for Failure {
    fn from(err: &ClientError) -> Self {
        let (kind, message) = match err {
            ClientError::Unauthorized { message } => ("unauthorized", message.clone()),
            ClientError::NotFound { message } => ("not_found", message.clone()),
            ClientError::Conflict { message } => ("conflict", message.clone()),
            ClientError::BackendUnavailable { message } => ("backend_unavailable", message.clone()),
            ClientError::InvalidParams { message } => ("invalid_params", message.clone()),
            ClientError::WaitTimedOut { message } => ("wait_timed_out", message.clone()),
            ClientError::Busy { message } => ("busy", message.clone()),
            ClientError::Rpc { message, .. } => ("rpc", message.clone()),
            ClientError::Transport(_) => ("transport", with_causes(err)),
            ClientError::InvalidUrl { .. } => ("invalid_url", err.to_string()),
            ClientError::InvalidResponse { .. } => ("invalid_response", err.to_string()),
            ClientError::Job(_) => ("invalid_job", err.to_string()),
            _ => ("unknown", with_causes(err)),
        };
        Self {
            code: err.code(),
            kind,
            message,
            retryable: err.is_retryable(),
        }
    }
}

impl Failure {
    /// The failure for a JSON-RPC error the server sent over WebSocket, where the native
    /// client, which speaks HTTP, is not involved: the same kinds as its errors map to.
    pub(crate) fn from_rpc(code: i32, message: String) -> Self {
        let (kind, retryable) = match code {
            codes::UNAUTHORIZED => ("unauthorized", false),
            codes::NOT_FOUND => ("not_found", false),
            codes::CONFLICT => ("conflict", false),
            codes::BACKEND_UNAVAILABLE => ("backend_unavailable", true),
            codes::INVALID_PARAMS => ("invalid_params", false),
            codes::WAIT_TIMED_OUT => ("wait_timed_out", true),
            codes::BUSY => ("busy", true),
            _ => ("rpc", false),
        };
        Self {
            code: Some(code),
            kind,
            message,
            retryable,
        }
    }
}

impl From<ClientError> for Failure {
    fn from(err: ClientError) -> Self {
        Self::from(&err)
    }
}

/// `err` followed by its causes, since a transport error's own text says little
/// ("cannot talk to the supervisor") and fetch's reason is in the chain.
fn with_causes(err: &ClientError) -> String {
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// The `SupervisorError` object for `failure`.
pub(crate) fn to_js(failure: Failure) -> JsValue {
    let error = js_sys::Error::new(&failure.message);
    error.set_name("SupervisorError");
    let code = failure.code.map_or(JsValue::NULL, JsValue::from);
    for (key, value) in [
        ("code", code),
        ("kind", JsValue::from_str(failure.kind)),
        ("retryable", JsValue::from_bool(failure.retryable)),
    ] {
        // Defining a property on a fresh, unfrozen Error cannot fail.
        let _ = Reflect::set(&error, &JsValue::from_str(key), &value);
    }
    error.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_keep_their_code_and_message() {
        let err = ClientError::Unauthorized {
            message: "unknown secret".into(),
        };
        let failure = Failure::from(err);
        assert_eq!(failure.code, Some(codes::UNAUTHORIZED));
        assert_eq!(failure.kind, "unauthorized");
        assert_eq!(failure.message, "unknown secret");
        assert!(!failure.retryable);

        let failure = Failure::from(ClientError::NotFound {
            message: "job x not found".into(),
        });
        assert_eq!(
            (failure.code, failure.kind),
            (Some(codes::NOT_FOUND), "not_found")
        );
    }

    #[test]
    fn other_server_codes_are_rpc_failures_with_the_code() {
        let failure = Failure::from(ClientError::Rpc {
            code: codes::METHOD_NOT_FOUND,
            message: "no such method".into(),
        });
        assert_eq!(failure.code, Some(codes::METHOD_NOT_FOUND));
        assert_eq!(failure.kind, "rpc");
    }

    #[test]
    fn errors_over_websocket_map_as_the_native_clients_do() {
        let cases = [
            ClientError::Unauthorized {
                message: "m".into(),
            },
            ClientError::NotFound {
                message: "m".into(),
            },
            ClientError::Conflict {
                message: "m".into(),
            },
            ClientError::BackendUnavailable {
                message: "m".into(),
            },
            ClientError::InvalidParams {
                message: "m".into(),
            },
            ClientError::WaitTimedOut {
                message: "m".into(),
            },
            ClientError::Busy {
                message: "m".into(),
            },
            ClientError::Rpc {
                code: codes::METHOD_NOT_FOUND,
                message: "m".into(),
            },
        ];
        for err in cases {
            let native = Failure::from(&err);
            let code = native.code.expect("a server error has a code");
            assert_eq!(Failure::from_rpc(code, "m".into()), native, "{err:?}");
        }
    }

    #[test]
    fn a_down_backend_is_retryable() {
        let failure = Failure::from(ClientError::BackendUnavailable {
            message: "redis down".into(),
        });
        assert!(failure.retryable);
    }

    #[test]
    fn local_failures_have_no_code_and_explain_themselves() {
        let err = ClientError::from(hero_job::Error::Missing { field: "runner" });
        let failure = Failure::from(err);
        assert_eq!((failure.code, failure.kind), (None, "invalid_job"));
        assert!(failure.message.contains("runner"), "{}", failure.message);

        let failure = Failure::from(ClientError::InvalidResponse {
            reason: "body is not JSON".into(),
        });
        assert_eq!((failure.code, failure.kind), (None, "invalid_response"));
        assert!(failure.message.contains("body is not JSON"));
    }
}
