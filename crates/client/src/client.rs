//! [`SupervisorClient`]: where the supervisor is, how long to wait, and the one generic call
//! every method goes through.
//!
//! The methods live in one file per method group (`jobs.rs`, …); each names its wire method,
//! passes its args in positional order and types the result.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hero_supervisor_api::methods::names;
use reqwest::Url;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{ClientError, rpc};

/// Time allowed to open a connection to the supervisor.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Default overall time allowed for a call that does not wait for a job.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Methods that block server-side until a job is final, bounded by the job's own timeout.
const WAITING_METHODS: &[&str] = &[names::JOB_RUN, names::JOB_RESULT];

/// A client for one supervisor, speaking JSON-RPC 2.0 over HTTP `POST`, params by name.
///
/// Cheap to clone: clones share one connection pool and one request-id counter.
///
/// # Timeouts
///
/// - Connecting: [`CONNECT_TIMEOUT`] (30 s).
/// - Calls that do not wait for a job: [`DEFAULT_TIMEOUT`] (30 s) overall; see
///   [`with_timeout`](Self::with_timeout).
/// - [`job_run`](Self::job_run) and [`job_result`](Self::job_result) wait on the server until
///   the job is final, which the server bounds by the job's own timeout; so by default they
///   have no overall client timeout. TCP keep-alive (probes after 15 s idle) notices a
///   supervisor that vanished. [`with_wait_timeout`](Self::with_wait_timeout) sets a bound.
///
/// # Cancel safety
///
/// Dropping a call's future abandons the HTTP request; the server may still carry the
/// method out (a job may still be created, started or stopped).
#[derive(Debug, Clone)]
pub struct SupervisorClient {
    /// A handle to reqwest's connection pool; clones of the client reuse its connections.
    http: reqwest::Client,
    url: Url,
    /// Shared by clones so that every call made through one pool carries its own id,
    /// which keeps the server's logs unambiguous.
    next_id: Arc<AtomicU64>,
    timeout: Option<Duration>,
    wait_timeout: Option<Duration>,
    /// Trusted besides the platform's roots; kept so that each added certificate rebuilds
    /// the HTTP client with all of them.
    #[cfg(not(target_arch = "wasm32"))]
    root_certificates: Vec<reqwest::Certificate>,
    /// The same certificates, for the WebSocket connection's TLS.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) root_ders: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// The WebSocket connection subscriptions use, shared by clones.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) socket: Arc<crate::ws::Socket>,
}

impl SupervisorClient {
    /// A client for the supervisor at `url`, e.g. `http://localhost:3030`.
    ///
    /// No connection is opened until the first call. A path is kept (for a supervisor behind
    /// a proxy at `https://host/supervisor`). An `https` supervisor's certificate is checked
    /// against the platform's trusted roots; see
    /// [`with_root_certificate`](Self::with_root_certificate) for a private or self-signed one.
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidUrl`] when `url` is not an absolute `http`/`https` URL, or holds
    /// a user name, password, query or fragment (secrets go in each call, never in the URL);
    /// [`ClientError::Transport`] when the HTTP client cannot be set up.
    pub fn new(url: impl AsRef<str>) -> Result<Self, ClientError> {
        let url = parse_url(url.as_ref())?;
        Ok(Self {
            http: http_client().map_err(ClientError::Transport)?,
            url,
            next_id: Arc::new(AtomicU64::new(1)),
            timeout: Some(DEFAULT_TIMEOUT),
            wait_timeout: None,
            #[cfg(not(target_arch = "wasm32"))]
            root_certificates: Vec::new(),
            #[cfg(not(target_arch = "wasm32"))]
            root_ders: Vec::new(),
            #[cfg(not(target_arch = "wasm32"))]
            socket: Arc::default(),
        })
    }

    /// Trusts the certificates in `pem` (one or more PEM `CERTIFICATE` blocks), besides the
    /// platform's roots, for an `https` supervisor (and its `wss` subscriptions): its own CA,
    /// or its self-signed certificate.
    ///
    /// Builds a new connection pool, so call it before cloning the client.
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidCertificate`] when `pem` holds no certificate or one that cannot
    /// be read.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_root_certificate(mut self, pem: impl AsRef<[u8]>) -> Result<Self, ClientError> {
        let invalid = |reason: String| ClientError::InvalidCertificate { reason };
        let certificates = reqwest::Certificate::from_pem_bundle(pem.as_ref())
            .map_err(|e| invalid(error_chain(&e)))?;
        if certificates.is_empty() {
            return Err(invalid("no PEM certificate in the text".to_owned()));
        }
        use rustls::pki_types::pem::PemObject as _;
        let ders = rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_ref())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(e.to_string()))?;
        self.root_certificates.extend(certificates);
        self.root_ders.extend(ders);
        // A connection opened before trusted only the certificates of then.
        self.socket = Arc::default();
        self.http =
            http_client_trusting(&self.root_certificates).map_err(|e| invalid(error_chain(&e)))?;
        Ok(self)
    }

    /// Sets the overall time allowed for each call that does not wait for a job.
    ///
    /// Default: [`DEFAULT_TIMEOUT`] (30 s). A call that takes longer fails with
    /// [`ClientError::Transport`], retryable; the server may still carry it out.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the overall time allowed for [`job_run`](Self::job_run) and
    /// [`job_result`](Self::job_result).
    ///
    /// Default: none, since the server answers once the job is final or its timeout passed.
    /// A call that takes longer fails with [`ClientError::Transport`]; the job goes on.
    pub fn with_wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = Some(timeout);
        self
    }

    /// The supervisor's URL, as requests are sent to it.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The supervisor's OpenRPC document (`rpc.discover`), describing every method served.
    ///
    /// # Errors
    ///
    /// [`ClientError::Transport`] when the supervisor cannot be reached.
    pub async fn rpc_discover(&self) -> Result<Value, ClientError> {
        self.call(names::RPC_DISCOVER, []).await
    }

    /// Calls `method` with `args` in its positional order and reads the result as `T`.
    ///
    /// Params are sent by the names the api's method table declares for `method`.
    pub(crate) async fn call<T: DeserializeOwned, const N: usize>(
        &self,
        method: &'static str,
        args: [Option<Value>; N],
    ) -> Result<T, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = rpc::request(id, method, args)?;
        let mut request = self.http.post(self.url.clone()).json(&body);
        if let Some(timeout) = self.timeout_for(method) {
            request = request.timeout(timeout);
        }
        let response = request.send().await.map_err(ClientError::Transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(ClientError::Transport)?;
        rpc::decode(id, &body).map_err(|err| match err {
            // An answer without a JSON-RPC body (a proxy's 502, a 413) is explained by its status.
            ClientError::InvalidResponse { reason } if !status.is_success() => {
                ClientError::InvalidResponse {
                    reason: format!("HTTP {status}: {reason}"),
                }
            }
            other => other,
        })
    }

    fn timeout_for(&self, method: &str) -> Option<Duration> {
        if WAITING_METHODS.contains(&method) {
            self.wait_timeout
        } else {
            self.timeout
        }
    }
}

/// A string argument.
pub(crate) fn text(value: &str) -> Option<Value> {
    Some(Value::from(value))
}

/// Any serializable argument, e.g. a job.
pub(crate) fn arg(value: &impl Serialize) -> Result<Option<Value>, ClientError> {
    serde_json::to_value(value)
        .map(Some)
        .map_err(|e| ClientError::InvalidParams {
            message: format!("cannot encode argument: {e}"),
        })
}

#[cfg(not(target_arch = "wasm32"))]
fn http_client() -> reqwest::Result<reqwest::Client> {
    http_client_trusting(&[])
}

/// The HTTP client, trusting `root_certificates` besides the platform's roots.
#[cfg(not(target_arch = "wasm32"))]
fn http_client_trusting(
    root_certificates: &[reqwest::Certificate],
) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        // Secrets travel in request bodies; a 307/308 would resend them to wherever it points.
        .redirect(reqwest::redirect::Policy::none());
    if root_certificates.is_empty() {
        builder.build()
    } else {
        builder.tls_certs_merge(root_certificates.to_vec()).build()
    }
}

/// `error` and its causes on one line: reqwest's own message alone rarely says what was wrong.
#[cfg(not(target_arch = "wasm32"))]
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(target_arch = "wasm32")]
fn http_client() -> reqwest::Result<reqwest::Client> {
    // The browser's fetch owns connecting and redirects; only request timeouts apply.
    reqwest::Client::builder().build()
}

fn parse_url(raw: &str) -> Result<Url, ClientError> {
    let invalid = |url: &str, reason| ClientError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let mut url = Url::parse(raw).map_err(|_| invalid(raw, "not an absolute url"))?;
    if !url.username().is_empty() || url.password().is_some() {
        // Clearing cannot fail on a URL that had credentials, and the error must not show them.
        let _ = url.set_password(None);
        let _ = url.set_username("");
        return Err(invalid(
            url.as_str(),
            "credentials do not belong in the url; pass the secret to each call",
        ));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(url.as_str(), "the scheme must be http or https"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            url.as_str(),
            "a query or fragment is not supported",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::test_server::{self, TIMEOUT};

    #[test]
    fn http_and_https_urls_are_accepted_with_their_path() {
        let client = SupervisorClient::new("http://localhost:3030").unwrap();
        assert_eq!(client.url(), "http://localhost:3030/");
        let client = SupervisorClient::new("https://example.org/supervisor/").unwrap();
        assert_eq!(client.url(), "https://example.org/supervisor/");
    }

    #[test]
    fn other_urls_are_refused_with_a_reason() {
        for url in [
            "localhost:3030",
            "/relative",
            "ftp://example.org",
            "ws://example.org",
            "http://example.org/?secret=x",
            "http://example.org/#x",
            "",
        ] {
            let err = SupervisorClient::new(url).unwrap_err();
            assert!(
                matches!(err, ClientError::InvalidUrl { .. }),
                "{url}: {err:?}"
            );
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_echoing_them() {
        let err = SupervisorClient::new("http://admin:hunter2@example.org").unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(matches!(err, ClientError::InvalidUrl { .. }), "{shown}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("admin"),
            "{shown}"
        );
    }

    #[test]
    fn only_waiting_methods_escape_the_call_timeout() {
        let client = SupervisorClient::new("http://localhost:1").unwrap();
        assert_eq!(client.timeout_for(names::JOB_RUN), None);
        assert_eq!(client.timeout_for(names::JOB_RESULT), None);
        assert_eq!(client.timeout_for(names::JOB_STATUS), Some(DEFAULT_TIMEOUT));
        let client = client.with_wait_timeout(Duration::from_secs(5));
        assert_eq!(
            client.timeout_for(names::JOB_RUN),
            Some(Duration::from_secs(5))
        );
    }

    #[tokio::test]
    async fn a_call_is_a_json_post_with_params_by_name() {
        let server = test_server::start(|req| test_server::result(req, json!("job-1"))).await;
        let client = SupervisorClient::new(&server.url).unwrap();
        let call = client.call::<String, 2>(names::JOB_STATUS, [text("j"), text("s")]);
        let id = tokio::time::timeout(TIMEOUT, call).await.unwrap().unwrap();
        assert_eq!(id, "job-1");
        let request = server.requests(1).await.remove(0);
        assert!(
            request.head.starts_with("POST / HTTP/1.1"),
            "{}",
            request.head
        );
        assert!(
            request.header("content-type").as_deref() == Some("application/json"),
            "{}",
            request.head
        );
        assert_eq!(request.body["jsonrpc"], "2.0");
        assert_eq!(request.body["method"], "job.status");
        assert_eq!(
            request.body["params"],
            json!({"job_id": "j", "secret": "s"})
        );
    }

    #[tokio::test]
    async fn clones_share_one_id_counter() {
        let server = test_server::start(|req| test_server::result(req, Value::Null)).await;
        let client = SupervisorClient::new(&server.url).unwrap();
        let clone = client.clone();
        for c in [&client, &clone] {
            let call = c.call::<(), 0>(names::RPC_DISCOVER, []);
            tokio::time::timeout(TIMEOUT, call).await.unwrap().unwrap();
        }
        let ids: Vec<Value> = server
            .requests(2)
            .await
            .into_iter()
            .map(|r| r.body["id"].clone())
            .collect();
        assert_eq!(ids, [json!(1), json!(2)]);
    }

    #[tokio::test]
    async fn an_error_status_without_json_rpc_body_names_the_status() {
        let server = test_server::start_raw("502 Bad Gateway", "text/html", "<h1>down</h1>").await;
        let client = SupervisorClient::new(&server.url).unwrap();
        let call = client.rpc_discover();
        let err = tokio::time::timeout(TIMEOUT, call)
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(&err, ClientError::InvalidResponse { reason } if reason.contains("HTTP 502")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_supervisor_is_a_retryable_transport_error() {
        let url = test_server::closed_port_url().await;
        let client = SupervisorClient::new(&url).unwrap();
        let err = tokio::time::timeout(TIMEOUT, client.rpc_discover())
            .await
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
        assert!(err.is_retryable());
        assert_eq!(err.code(), None);
    }

    #[tokio::test]
    async fn a_silent_supervisor_times_out_after_the_call_timeout() {
        let server = test_server::start_silent().await;
        let client = SupervisorClient::new(&server.url)
            .unwrap()
            .with_timeout(Duration::from_millis(200));
        let err = tokio::time::timeout(TIMEOUT, client.jobs_list("s"))
            .await
            .expect("the client's own timeout fires first")
            .unwrap_err();
        assert!(
            matches!(&err, ClientError::Transport(e) if e.is_timeout()),
            "{err:?}"
        );
        assert!(err.is_retryable());
    }
}
