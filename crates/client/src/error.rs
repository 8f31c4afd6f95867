//! Why a call failed: one variant per contract error code, plus the client's own failures.
//!
//! Codes are mapped with the constants of [`hero_supervisor_api::codes`], never literals.

use hero_supervisor_api::codes;

/// A failed call to the supervisor, or a client that cannot be built.
///
/// The variants named after contract codes carry the server's `message`; [`code`](Self::code)
/// gives the code back. No variant holds a secret or a request body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The secret is missing, unknown or not allowed this method (`-32001`).
    #[error("unauthorized: {message}")]
    Unauthorized {
        /// The server's explanation.
        message: String,
    },
    /// No such job or runner (`-32002`).
    #[error("not found: {message}")]
    NotFound {
        /// The server's explanation, naming what is missing.
        message: String,
    },
    /// The request clashes with the current state: id taken, job already started (`-32003`).
    #[error("conflict: {message}")]
    Conflict {
        /// The server's explanation.
        message: String,
    },
    /// The supervisor cannot reach its store (`-32004`); worth retrying later.
    #[error("backend unavailable: {message}")]
    BackendUnavailable {
        /// The server's explanation.
        message: String,
    },
    /// The params do not fit the method (`-32602`), e.g. an invalid job.
    #[error("invalid params: {message}")]
    InvalidParams {
        /// The server's explanation, naming the param.
        message: String,
    },
    /// `job.result` stopped waiting before the job became final (`-32000`); the job goes on.
    #[error("timed out waiting for the job: {message}")]
    WaitTimedOut {
        /// The server's explanation.
        message: String,
    },
    /// As many calls already wait for jobs as the server allows (`-32009`); worth retrying
    /// later.
    #[error("busy: {message}")]
    Busy {
        /// The server's explanation.
        message: String,
    },
    /// Any other JSON-RPC error the server answered with.
    #[error("rpc error {code}: {message}")]
    Rpc {
        /// The JSON-RPC error code.
        code: i32,
        /// The server's explanation.
        message: String,
    },
    /// The HTTP exchange failed: connect, timeout, or connection lost.
    #[error("cannot talk to the supervisor")]
    Transport(#[source] reqwest::Error),
    /// The WebSocket connection subscriptions use failed: connect, TLS, or connection lost.
    #[error("cannot talk to the supervisor over WebSocket: {reason}")]
    WebSocket {
        /// What failed.
        reason: String,
    },
    /// A subscription ended without being unsubscribed; events may have been missed since.
    /// Subscribe again and re-read what matters.
    #[error("subscription ended: {reason}")]
    SubscriptionEnded {
        /// Why, as far as the client knows.
        reason: String,
    },
    /// The supervisor URL is not an absolute `http` or `https` URL this client can use.
    #[error("invalid supervisor url `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given, with any user name and password removed.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A certificate given to
    /// [`SupervisorClient::with_root_certificate`](crate::SupervisorClient::with_root_certificate)
    /// cannot be used.
    #[error("invalid root certificate: {reason}")]
    InvalidCertificate {
        /// What is wrong with it.
        reason: String,
    },
    /// The server answered something that is not the expected JSON-RPC response.
    #[error("invalid response from the supervisor: {reason}")]
    InvalidResponse {
        /// What is wrong with it.
        reason: String,
    },
    /// A job could not be built, e.g. by [`JobBuilder::build`](hero_job::JobBuilder::build).
    #[error(transparent)]
    Job(#[from] hero_job::Error),
}

impl ClientError {
    /// The typed error for a JSON-RPC error object with `code` and `message`.
    pub(crate) fn from_rpc(code: i32, message: String) -> Self {
        match code {
            codes::UNAUTHORIZED => Self::Unauthorized { message },
            codes::NOT_FOUND => Self::NotFound { message },
            codes::CONFLICT => Self::Conflict { message },
            codes::BACKEND_UNAVAILABLE => Self::BackendUnavailable { message },
            codes::INVALID_PARAMS => Self::InvalidParams { message },
            codes::WAIT_TIMED_OUT => Self::WaitTimedOut { message },
            codes::BUSY => Self::Busy { message },
            code => Self::Rpc { code, message },
        }
    }

    /// The JSON-RPC error code the server answered with; `None` when the failure is local
    /// (transport, URL, certificate, response shape, job validation).
    pub fn code(&self) -> Option<i32> {
        match self {
            Self::Unauthorized { .. } => Some(codes::UNAUTHORIZED),
            Self::NotFound { .. } => Some(codes::NOT_FOUND),
            Self::Conflict { .. } => Some(codes::CONFLICT),
            Self::BackendUnavailable { .. } => Some(codes::BACKEND_UNAVAILABLE),
            Self::InvalidParams { .. } => Some(codes::INVALID_PARAMS),
            Self::WaitTimedOut { .. } => Some(codes::WAIT_TIMED_OUT),
            Self::Busy { .. } => Some(codes::BUSY),
            Self::Rpc { code, .. } => Some(*code),
            Self::Transport(_)
            | Self::WebSocket { .. }
            | Self::SubscriptionEnded { .. }
            | Self::InvalidUrl { .. }
            | Self::InvalidCertificate { .. }
            | Self::InvalidResponse { .. }
            | Self::Job(_) => None,
        }
    }

    /// True when the same call may succeed later unchanged: the backend was down, the server
    /// was busy, a wait timed out, or the connection failed or timed out.
    ///
    /// A retried `jobs.create` or `job.run` with an empty job id may store the job twice if
    /// the first attempt reached the server; set an id with `JobBuilder::id` to make the retry
    /// a conflict instead.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::BackendUnavailable { .. }
            | Self::Busy { .. }
            | Self::WaitTimedOut { .. }
            | Self::WebSocket { .. }
            | Self::SubscriptionEnded { .. } => true,
            Self::Transport(err) => err.is_timeout() || is_connect(err),
            _ => false,
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn is_connect(err: &reqwest::Error) -> bool {
    err.is_connect()
}

#[cfg(target_arch = "wasm32")]
fn is_connect(_err: &reqwest::Error) -> bool {
    // The browser's fetch does not tell connect failures apart from others.
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_codes_map_to_their_variants_and_back() {
        let cases = [
            codes::UNAUTHORIZED,
            codes::NOT_FOUND,
            codes::CONFLICT,
            codes::BACKEND_UNAVAILABLE,
            codes::INVALID_PARAMS,
            codes::WAIT_TIMED_OUT,
            codes::BUSY,
        ];
        for code in cases {
            let err = ClientError::from_rpc(code, "m".into());
            assert!(!matches!(err, ClientError::Rpc { .. }), "{code} is typed");
            assert_eq!(err.code(), Some(code));
        }
        assert!(matches!(
            ClientError::from_rpc(codes::NOT_FOUND, "job x".into()),
            ClientError::NotFound { message } if message == "job x"
        ));
    }

    #[test]
    fn other_codes_keep_code_and_message() {
        let err = ClientError::from_rpc(codes::METHOD_NOT_FOUND, "no such method".into());
        assert!(matches!(
            &err,
            ClientError::Rpc { code, message }
                if *code == codes::METHOD_NOT_FOUND && message == "no such method"
        ));
        assert_eq!(err.code(), Some(codes::METHOD_NOT_FOUND));
        assert_eq!(err.to_string(), "rpc error -32601: no such method");
    }

    #[test]
    fn local_failures_have_no_code() {
        let err = ClientError::InvalidResponse { reason: "x".into() };
        assert_eq!(err.code(), None);
        let err = ClientError::from(hero_job::Error::Missing { field: "runner" });
        assert_eq!(err.code(), None);
    }

    #[test]
    fn only_transient_failures_are_retryable() {
        assert!(ClientError::from_rpc(codes::BACKEND_UNAVAILABLE, String::new()).is_retryable());
        assert!(!ClientError::from_rpc(codes::CONFLICT, String::new()).is_retryable());
        assert!(!ClientError::from_rpc(codes::UNAUTHORIZED, String::new()).is_retryable());
    }
}
