//! The HTTP and WebSocket server: JSON-RPC on `POST /` and WebSocket, `GET /health`,
//! `GET /metrics`, the dashboard on `GET /` and `GET /assets/…`, with the request size, batch
//! and connection limits of the config; over TLS when the config has a `[tls]` table.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hero_supervisor_api::Secret;
use hero_supervisor_api::info::BackendStatus;
use hero_supervisor_api::methods::Access;
use http_body_util::BodyExt;
use jsonrpsee::core::BoxError;
use jsonrpsee::server::{
    BatchRequestConfig, HttpBody, HttpRequest, HttpResponse, Server, ServerConfig, ServerHandle,
    stop_channel,
};
use serde_json::json;
use tower::{Layer, Service};

use crate::auth;
use crate::config::Limits;
use crate::error::StartError;
use crate::rpc;
use crate::supervisor::Supervisor;
use crate::tls;
use crate::wire;

/// Starts serving on `listener`, over TLS when `tls` is given; the handle stops the server.
pub(crate) fn start(
    listener: std::net::TcpListener,
    supervisor: Arc<Supervisor>,
    limits: &Limits,
    cors_allowed_origins: &[String],
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<ServerHandle, StartError> {
    let config = ServerConfig::builder()
        .max_request_body_size(limits.max_request_bytes)
        .max_response_body_size(limits.max_response_bytes)
        .max_connections(
            limits
                .max_connections
                .saturating_add(limits.reserved_connections),
        )
        .set_batch_request_config(BatchRequestConfig::Limit(limits.max_batch_len))
        .max_subscriptions_per_connection(limits.max_subscriptions_per_connection)
        // Subscription ids are strings, as the method table declares; the library's default
        // ids are numbers.
        .set_id_provider(jsonrpsee::server::RandomStringIdProvider::new(16))
        .build();
    let http = tower::ServiceBuilder::new()
        .option_layer(cors(cors_allowed_origins))
        .layer(HealthLayer {
            supervisor: supervisor.clone(),
            max_request_bytes: limits.max_request_bytes,
        });
    listener.set_nonblocking(true).map_err(StartError::Server)?;
    let builder = Server::builder()
        .set_config(config)
        .set_http_middleware(http)
        .set_rpc_middleware(
            jsonrpsee::server::middleware::rpc::RpcServiceBuilder::new()
                .layer_fn(crate::unsubscribe::ByName),
        );
    let methods = rpc::module(supervisor);
    let Some(tls) = tls else {
        let server = builder
            .build_from_tcp(listener)
            .map_err(StartError::Server)?;
        return Ok(server.start(methods));
    };
    // The RPC library does not terminate TLS itself: the loop in `tls` accepts and decrypts,
    // and hands each connection the same service, limits and middleware as above.
    let listener = tokio::net::TcpListener::from_std(listener).map_err(StartError::Server)?;
    let services = builder.to_service_builder();
    let (stop, handle) = stop_channel();
    tokio::spawn(tls::serve(
        listener,
        tokio_rustls::TlsAcceptor::from(tls),
        methods.into(),
        move |methods, stop| services.clone().build(methods, stop),
        stop,
    ));
    Ok(handle)
}

/// Lets pages of the configured origins call the API from a browser; `None` when there are
/// none, so browsers keep their same-origin rule. Secrets travel in the JSON body, never in
/// cookies, so credentials are not allowed.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        // Config::check refused every origin that is not a valid header value.
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| http::HeaderValue::from_str(o).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([http::Method::GET, http::Method::POST])
            .allow_headers([http::header::CONTENT_TYPE])
            .max_age(Duration::from_secs(600)),
    )
}

/// Answers `GET /health` itself, makes request bodies standard JSON-RPC (see [`wire`]) and
/// passes everything else to the RPC server.
#[derive(Clone)]
struct HealthLayer {
    supervisor: Arc<Supervisor>,
    max_request_bytes: u32,
}

impl<S> Layer<S> for HealthLayer {
    type Service = Health<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Health {
            inner,
            supervisor: self.supervisor.clone(),
            max_request_bytes: self.max_request_bytes,
        }
    }
}

#[derive(Clone)]
struct Health<S> {
    inner: S,
    supervisor: Arc<Supervisor>,
    max_request_bytes: u32,
}

impl<S, B> Service<HttpRequest<B>> for Health<S>
where
    S: Service<HttpRequest, Response = HttpResponse> + Clone + Send + 'static,
    S::Error: Into<BoxError> + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        if request.method() == http::Method::GET && request.uri().path() == "/health" {
            let supervisor = self.supervisor.clone();
            return Box::pin(async move { Ok(health(&supervisor).await) });
        }
        if request.method() == http::Method::GET && request.uri().path() == "/metrics" {
            let supervisor = self.supervisor.clone();
            let bearer = bearer(request.headers());
            let format = crate::metrics::Format::from_accept(
                request
                    .headers()
                    .get(http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok()),
            );
            return Box::pin(async move { Ok(metrics(&supervisor, bearer, format).await) });
        }
        if request.method() == http::Method::GET
            && !is_websocket_upgrade(&request)
            && let Some(response) = dashboard(request.uri().path())
        {
            return Box::pin(std::future::ready(Ok(response)));
        }
        if request.method() == http::Method::POST {
            // The clone that was made ready is the one called; the fresh clone waits for the
            // next `poll_ready`, as tower requires.
            let clone = self.inner.clone();
            let inner = std::mem::replace(&mut self.inner, clone);
            return Box::pin(standard_post(inner, request, self.max_request_bytes));
        }
        let future = self.inner.call(request.map(HttpBody::new));
        Box::pin(async move {
            let mut response = future.await.map_err(Into::into)?;
            // The server drops the connection after refusing an oversized body; saying so lets
            // clients that reuse connections open a new one instead of failing on a dead one.
            if response.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                response.headers_mut().insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
            }
            Ok(response)
        })
    }
}

/// Reads a POST body (up to the request limit) and hands the RPC server a standard
/// JSON-RPC request: see [`wire::plan`].
async fn standard_post<S, B>(
    mut inner: S,
    request: HttpRequest<B>,
    max_request_bytes: u32,
) -> Result<HttpResponse, BoxError>
where
    S: Service<HttpRequest, Response = HttpResponse>,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (mut parts, body) = request.into_parts();
    let Some(body) = read_within(body, max_request_bytes as usize).await? else {
        let mut response = jsonrpsee::server::http::response::too_large(max_request_bytes);
        // Whatever the client sends past the drain is left unread: the connection cannot
        // carry another request.
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
        return Ok(response);
    };
    // A body the library refuses whole (not JSON content) is left to it, with its own answer.
    let is_json = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    let plan = if is_json {
        wire::plan(&body)
    } else {
        wire::Plan::PassThrough
    };
    if !matches!(plan, wire::Plan::PassThrough) {
        // The body handed on is not the one received.
        parts.headers.remove(http::header::CONTENT_LENGTH);
    }
    match plan {
        wire::Plan::PassThrough => {
            let request = HttpRequest::from_parts(parts, HttpBody::from(body.to_vec()));
            inner.call(request).await.map_err(Into::into)
        }
        wire::Plan::Notification(call) => {
            let request = HttpRequest::from_parts(parts, HttpBody::from(call));
            let response = inner.call(request).await.map_err(Into::into)?;
            // Refused (too large with its stand-in id, say): the refusal is the answer.
            if !response.status().is_success() {
                return Ok(response);
            }
            Ok(http::Response::builder()
                .status(http::StatusCode::NO_CONTENT)
                .body(HttpBody::from(Vec::new()))
                .expect("a static status makes a valid response"))
        }
        wire::Plan::Answer(answer) => Ok(json_response(answer)),
        wire::Plan::Rewrite(rewritten, ids) => {
            let request = HttpRequest::from_parts(parts, HttpBody::from(rewritten));
            let response = inner.call(request).await.map_err(Into::into)?;
            let (mut parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            let Some(restored) = wire::restore(&body, &ids) else {
                return Ok(HttpResponse::from_parts(
                    parts,
                    HttpBody::from(body.to_vec()),
                ));
            };
            parts.headers.remove(http::header::CONTENT_LENGTH);
            Ok(HttpResponse::from_parts(parts, HttpBody::from(restored)))
        }
    }
}

/// How much of an oversized body is read and thrown away before the refusal is sent.
const DRAIN_MAX_BYTES: usize = 64 << 20;

/// How long an oversized body is drained before the refusal is sent anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The whole body, or `None` when it is longer than `limit`.
///
/// An oversized body is read on and discarded (up to [`DRAIN_MAX_BYTES`] or
/// [`DRAIN_TIMEOUT`]) before the caller answers: closing a socket with unread data makes the
/// kernel reset the connection, and a client still writing its body would then see a broken
/// pipe instead of the 413 and its JSON-RPC error. nginx's lingering close does the same.
async fn read_within<B>(body: B, limit: usize) -> Result<Option<bytes::Bytes>, BoxError>
where
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: Into<BoxError>,
{
    use bytes::Buf;
    let mut body = std::pin::pin!(body);
    let mut kept = bytes::BytesMut::new();
    loop {
        let frame = match body.frame().await {
            None => break,
            Some(Ok(frame)) => frame,
            Some(Err(e)) => return Err(e.into()),
        };
        let Ok(mut data) = frame.into_data() else {
            continue; // trailers
        };
        if kept.len() + data.remaining() > limit {
            let drained = data.remaining() + kept.len();
            // A client that sends slowly or without end only loses its answer.
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain(body, drained)).await;
            return Ok(None);
        }
        kept.extend_from_slice(&data.copy_to_bytes(data.remaining()));
    }
    Ok(Some(kept.freeze()))
}

/// Reads and drops the rest of `body`, until it ends, fails, or [`DRAIN_MAX_BYTES`] are read.
async fn drain<B>(mut body: std::pin::Pin<&mut B>, mut read: usize)
where
    B: http_body::Body<Data = bytes::Bytes>,
{
    while read < DRAIN_MAX_BYTES {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, bytes::Bytes::len),
            // The client is gone or done: nothing left to drain.
            Some(Err(_)) | None => return,
        }
    }
}

fn json_response(body: String) -> HttpResponse {
    http::Response::builder()
        .status(http::StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(HttpBody::from(body))
        .expect("a static status and header make a valid response")
}

/// The secret of an `Authorization: Bearer SECRET` header, if one was sent.
fn bearer(headers: &http::HeaderMap) -> Option<Secret> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, secret) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| Secret::new(secret.trim()))
}

/// The Prometheus metrics; with `[metrics] require_secret`, only for an admin secret sent as
/// a bearer token (401 otherwise, naming no secret).
async fn metrics(
    supervisor: &Supervisor,
    bearer: Option<Secret>,
    format: crate::metrics::Format,
) -> HttpResponse {
    if supervisor.metrics_require_secret {
        supervisor.secrets.refresh(supervisor.store.as_ref()).await;
        let allowed = bearer.is_some_and(|secret| {
            auth::authorize(&supervisor.secrets, Access::Admin, Some(&secret), false).is_ok()
        });
        if !allowed {
            return http::Response::builder()
                .status(http::StatusCode::UNAUTHORIZED)
                .header(http::header::WWW_AUTHENTICATE, "Bearer")
                .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(HttpBody::from(
                    "an admin secret is required: Authorization: Bearer <secret>\n",
                ))
                .expect("a static status and headers make a valid response");
        }
    }
    http::Response::builder()
        .status(http::StatusCode::OK)
        .header(http::header::CONTENT_TYPE, format.content_type())
        .body(HttpBody::from(
            format.encode(crate::metrics::render(supervisor).await),
        ))
        .expect("a static status and header make a valid response")
}

/// Whether `request` asks to become a WebSocket: a `GET /` that does goes to the RPC server.
fn is_websocket_upgrade<B>(request: &HttpRequest<B>) -> bool {
    request
        .headers()
        .get(http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The dashboard's page or one of its files (see `hero_dashboard`), 404 for any other path
/// under its assets, `None` for paths that are not the dashboard's.
fn dashboard(path: &str) -> Option<HttpResponse> {
    let (status, content_type, body) = match hero_dashboard::asset(path) {
        Some(asset) => (http::StatusCode::OK, asset.content_type, asset.body),
        None if path.starts_with(hero_dashboard::ASSETS_PREFIX) => (
            http::StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            &b"not found"[..],
        ),
        None => return None,
    };
    Some(
        http::Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, content_type)
            .header(
                http::header::CONTENT_SECURITY_POLICY,
                hero_dashboard::CONTENT_SECURITY_POLICY,
            )
            .header(http::header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .header(http::header::REFERRER_POLICY, "no-referrer")
            .header(http::header::X_FRAME_OPTIONS, "DENY")
            // The files change with the binary, under the same names: revalidate every time.
            .header(http::header::CACHE_CONTROL, "no-cache")
            .body(HttpBody::new(http_body_util::Full::new(
                bytes::Bytes::from_static(body),
            )))
            .expect("static headers make a valid response"),
    )
}

/// 200 while the supervisor is up; the body says whether its store answers.
async fn health(supervisor: &Supervisor) -> HttpResponse {
    let backend = rpc::backend(supervisor).await;
    let status = match backend.status {
        BackendStatus::Ok => "ok",
        BackendStatus::Unavailable => "degraded",
    };
    let body = json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "backend": backend,
    });
    http::Response::builder()
        .status(http::StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(HttpBody::from(body.to_string()))
        .expect("a static status and header make a valid response")
}
