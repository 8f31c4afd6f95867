//! The HTTP transport of [`RemoteStore`](super::RemoteStore): the runner endpoint's methods
//! on the supervisor's API port, through the Rust client, with the runner's secret.

use std::future::Future;
use std::time::Duration;

use hero_store::Error;
use hero_supervisor_api::Secret;
use hero_supervisor_api::endpoint::MAX_CLAIM_WAIT_MS;
use hero_supervisor_openrpc_client::{ClientError, SupervisorClient};

use super::CALL_TIMEOUT;

/// A supervisor's API and the register or admin secret its runner calls carry.
pub(super) struct Http {
    pub(super) client: SupervisorClient,
    pub(super) secret: Secret,
}

impl Http {
    /// # Errors
    ///
    /// `Unsupported` when `url` is not an http(s) URL the client can use.
    pub(super) fn new(url: &str, secret: Secret) -> Result<Self, Error> {
        let client = SupervisorClient::new(url)
            .map_err(|e| Error::Unsupported {
                reason: format!("cannot use the supervisor URL: {e}"),
            })?
            // Above the longest claim the supervisor holds; each call has its own bound too.
            .with_timeout(Duration::from_millis(MAX_CLAIM_WAIT_MS) + CALL_TIMEOUT);
        Ok(Self { client, secret })
    }
}

/// Awaits `call`, giving up after `timeout`, with the client's errors read as the store's:
/// what may pass (the supervisor or its store away, busy) is retryable, a refusal is not.
pub(super) async fn within<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, ClientError>>,
) -> Result<T, Error> {
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(store_error(&error)),
        Err(_) => Err(Error::Unavailable {
            reason: format!("the supervisor did not answer within {timeout:?}"),
        }),
    }
}

fn store_error(error: &ClientError) -> Error {
    let reason = error.to_string();
    match error {
        ClientError::BackendUnavailable { .. }
        | ClientError::Busy { .. }
        | ClientError::Transport(_)
        | ClientError::WaitTimedOut { .. } => Error::Unavailable { reason },
        _ => Error::Unsupported {
            reason: format!("the supervisor refused the request: {reason}"),
        },
    }
}
