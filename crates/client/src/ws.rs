//! The WebSocket transport, for subscriptions: `jobs_subscribe` and `runner_logs_subscribe`.
//!
//! One WebSocket connection per client (shared by clones), opened at the first subscription
//! and opened again when it was lost, at the client's URL with `ws` for `http` and `wss` for
//! `https`. A subscription is a [`Subscription`], a stream of its notifications.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};
use hero_job::JobEvent;
use hero_supervisor_api::methods::{self, names};
use hero_supervisor_api::params::EventFilter;
use jsonrpsee::core::client::{SubscriptionClientT, SubscriptionCloseReason};
use jsonrpsee::core::traits::ToRpcParams;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::client::{CONNECT_TIMEOUT, arg, text};
use crate::{ClientError, SupervisorClient, rpc};

/// The client's WebSocket connection, opened at the first subscription.
#[derive(Default)]
pub(crate) struct Socket {
    /// The open connection; replaced when it was lost. Held across the connect so that two
    /// subscriptions at once open one connection.
    client: tokio::sync::Mutex<Option<Arc<WsClient>>>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket").finish_non_exhaustive()
    }
}

/// A stream of one subscription's notifications.
///
/// Yields each notification in order. When the subscription ends without
/// [`unsubscribe`](Self::unsubscribe) — the server ended it (the client read too slowly,
/// events may have been missed, the secret was removed) or the connection was lost — it yields
/// one [`ClientError::SubscriptionEnded`] and then ends: subscribe again and re-read what
/// matters. Dropping it unsubscribes.
pub struct Subscription<T> {
    inner: jsonrpsee::core::client::Subscription<T>,
    ended: bool,
}

impl<T> std::fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

/// The events of [`SupervisorClient::jobs_subscribe`].
pub type JobEvents = Subscription<JobEvent>;

/// The lines of [`SupervisorClient::runner_logs_subscribe`].
pub type LogLines = Subscription<String>;

impl<T: DeserializeOwned> Subscription<T> {
    /// Ends the subscription on the server (`jobs.unsubscribe` or `runner_logs.unsubscribe`).
    ///
    /// # Errors
    ///
    /// [`ClientError::WebSocket`] when the connection is already gone.
    pub async fn unsubscribe(self) -> Result<(), ClientError> {
        self.inner.unsubscribe().await.map_err(from_jsonrpsee)
    }
}

impl<T: DeserializeOwned> Stream for Subscription<T> {
    type Item = Result<T, ClientError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        match this.inner.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(item))) => Poll::Ready(Some(Ok(item))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(ClientError::InvalidResponse {
                reason: format!("unexpected notification: {e}"),
            }))),
            Poll::Ready(None) => {
                this.ended = true;
                let reason = match this.inner.close_reason() {
                    Some(SubscriptionCloseReason::Lagged) => {
                        "this program read the notifications too slowly"
                    }
                    _ => "the server ended it, or the connection was lost",
                };
                Poll::Ready(Some(Err(ClientError::SubscriptionEnded {
                    reason: reason.to_owned(),
                })))
            }
        }
    }
}

impl SupervisorClient {
    /// Follows changes of jobs as they happen (`jobs.subscribe`, over WebSocket): one
    /// [`JobEvent`] per change of status of every job the secret may see that `filter`
    /// selects, with `progress` on progress reports and `result` once final.
    ///
    /// The events start with changes made after this returns.
    ///
    /// # Errors
    ///
    /// [`ClientError::WebSocket`] when the WebSocket connection cannot be opened;
    /// `Unauthorized`, `InvalidParams` or `BackendUnavailable` as the server answers.
    pub async fn jobs_subscribe(
        &self,
        secret: &str,
        filter: Option<EventFilter>,
    ) -> Result<JobEvents, ClientError> {
        let filter = filter.as_ref().map(arg).transpose()?.flatten();
        self.subscribe(
            names::JOBS_SUBSCRIBE,
            [text(secret), filter],
            names::JOBS_UNSUBSCRIBE,
        )
        .await
    }

    /// Follows a local runner's output (`runner_logs.subscribe`, over WebSocket): the last
    /// `lines` lines (default 100), then each new one.
    ///
    /// # Errors
    ///
    /// As [`jobs_subscribe`](Self::jobs_subscribe); `NotFound` for an unknown runner.
    pub async fn runner_logs_subscribe(
        &self,
        secret: &str,
        actor_id: &str,
        lines: Option<usize>,
    ) -> Result<LogLines, ClientError> {
        self.subscribe(
            names::RUNNER_LOGS_SUBSCRIBE,
            [text(secret), text(actor_id), lines.map(Value::from)],
            names::RUNNER_LOGS_UNSUBSCRIBE,
        )
        .await
    }

    async fn subscribe<T: DeserializeOwned, const N: usize>(
        &self,
        method: &'static str,
        args: [Option<Value>; N],
        unsubscribe: &'static str,
    ) -> Result<Subscription<T>, ClientError> {
        let declared = methods::find(method).ok_or_else(|| ClientError::InvalidParams {
            message: format!("`{method}` is not a method of the supervisor api"),
        })?;
        let params = Named(rpc::named(declared, args)?);
        let client = self.websocket().await?;
        let inner = client
            .subscribe(method, params, unsubscribe)
            .await
            .map_err(from_jsonrpsee)?;
        Ok(Subscription {
            inner,
            ended: false,
        })
    }

    /// The open WebSocket connection, opened now if there is none or it was lost.
    async fn websocket(&self) -> Result<Arc<WsClient>, ClientError> {
        let mut slot = self.socket.client.lock().await;
        if let Some(client) = slot.as_ref().filter(|c| c.is_connected()) {
            return Ok(client.clone());
        }
        let tls = tls_config(&self.root_ders).map_err(|e| ClientError::WebSocket {
            reason: format!("cannot set up TLS: {e}"),
        })?;
        let client = WsClientBuilder::default()
            .connection_timeout(CONNECT_TIMEOUT)
            .with_custom_cert_store(tls)
            .build(ws_url(self.url()))
            .await
            .map_err(from_jsonrpsee)?;
        let client = Arc::new(client);
        *slot = Some(client.clone());
        Ok(client)
    }
}

/// `url` (http or https) as its WebSocket URL (ws or wss).
fn ws_url(url: &str) -> String {
    match url.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some((_, rest)) => format!("ws://{rest}"),
        None => url.to_owned(),
    }
}

/// TLS for `wss`: the platform's roots plus `extra`, with ring.
fn tls_config(
    extra: &[rustls::pki_types::CertificateDer<'static>],
) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
        extra.iter().cloned(),
        provider.clone(),
    )?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// Params by name, under the names the method table declares.
struct Named(serde_json::Map<String, Value>);

impl ToRpcParams for Named {
    fn to_rpc_params(self) -> Result<Option<Box<RawValue>>, serde_json::Error> {
        serde_json::value::to_raw_value(&self.0).map(Some)
    }
}

fn from_jsonrpsee(error: jsonrpsee::core::ClientError) -> ClientError {
    use jsonrpsee::core::ClientError as E;
    match error {
        E::Call(object) => ClientError::from_rpc(object.code(), object.message().to_owned()),
        other => ClientError::WebSocket {
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_websocket_url_follows_the_http_one() {
        assert_eq!(ws_url("http://127.0.0.1:3030/"), "ws://127.0.0.1:3030/");
        assert_eq!(
            ws_url("https://example.org/supervisor/"),
            "wss://example.org/supervisor/"
        );
    }

    #[test]
    fn tls_is_set_up_with_and_without_extra_roots() {
        assert!(tls_config(&[]).is_ok());
    }
}
