//! The API over TLS: a certificate generated here, trusted by the client, serves JSON-RPC,
//! `/health` and WebSocket; plain HTTP and clients that do not trust it get nothing; a
//! `[tls]` table that cannot be used stops start-up with one line naming the key and file.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::{USER, bounded, job};
use hero_supervisor::config::TlsConfig;
use hero_supervisor_openrpc_client::{ClientError, JobResult, SupervisorClient};
use hero_test_support::RedisServer;
use serde_json::{Value, json};
use tokio::sync::oneshot;

const SUPERVISOR: &str = env!("CARGO_BIN_EXE_supervisor");

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM files.
struct Certificate {
    dir: tempfile::TempDir,
    pem: String,
}

impl Certificate {
    fn generate() -> Self {
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let generated = rcgen::generate_simple_self_signed(names).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pem = generated.cert.pem();
        std::fs::write(dir.path().join("cert.pem"), &pem).unwrap();
        std::fs::write(
            dir.path().join("key.pem"),
            generated.signing_key.serialize_pem(),
        )
        .unwrap();
        Self { dir, pem }
    }

    fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn key_path(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    fn config(&self) -> TlsConfig {
        TlsConfig {
            cert_path: self.cert_path(),
            key_path: self.key_path(),
        }
    }
}

/// A supervisor served in-process over TLS with a fresh certificate.
struct TlsSupervisor {
    url: String,
    address: std::net::SocketAddr,
    certificate: Certificate,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _data_dir: tempfile::TempDir,
    // Dropped last: the runner must not lose its Redis before it is stopped.
    _redis: RedisServer,
}

impl TlsSupervisor {
    async fn start() -> Self {
        let redis = RedisServer::start();
        let data_dir = tempfile::tempdir().unwrap();
        let certificate = Certificate::generate();
        let mut config = common::config(&redis, data_dir.path());
        config.tls = Some(certificate.config());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let running = bounded(hero_supervisor::start(config, listener))
            .await
            .expect("the supervisor starts over TLS");
        let address = running.address();
        // The certificate names `localhost`; the URL must too, for the name check to pass.
        let url = format!("https://localhost:{}", address.port());
        assert_eq!(running.url(), format!("https://{address}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(running.serve_until(async {
            // A dropped sender also means stop.
            let _ = stopped.await;
        }));
        Self {
            url,
            address,
            certificate,
            stop: Some(stop),
            task: Some(task),
            _data_dir: data_dir,
            _redis: redis,
        }
    }

    fn client(&self) -> SupervisorClient {
        SupervisorClient::new(&self.url)
            .unwrap()
            .with_root_certificate(&self.certificate.pem)
            .unwrap()
    }

    fn http(&self) -> reqwest::Client {
        let trusted = reqwest::Certificate::from_pem(self.certificate.pem.as_bytes()).unwrap();
        reqwest::Client::builder()
            .tls_certs_only([trusted])
            .build()
            .unwrap()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            bounded(task).await.expect("supervisor task ends cleanly");
        }
    }
}

/// `error` and all its causes, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn a_job_runs_over_https_for_a_client_trusting_the_certificate() {
    let sup = TlsSupervisor::start().await;
    let result = bounded(sup.client().job_run(USER, job("40 + 2").build().unwrap())).await;
    assert_eq!(
        result.unwrap(),
        JobResult::Success {
            success: "42".into()
        }
    );
    sup.stop().await;
}

#[tokio::test]
async fn the_rust_client_follows_job_events_over_wss_when_it_trusts_the_certificate() {
    use futures::StreamExt;
    use hero_supervisor_openrpc_client::EventStatus;

    let sup = TlsSupervisor::start().await;
    let client = sup.client();
    let mut events = bounded(client.jobs_subscribe(USER, None)).await.unwrap();
    bounded(client.job_run(USER, job("40 + 2").build().unwrap()))
        .await
        .unwrap();
    let mut last = None;
    while last.as_ref().is_none_or(|s: &EventStatus| !s.is_final()) {
        let event = bounded(events.next()).await.unwrap().unwrap();
        last = Some(event.status);
    }
    assert_eq!(last, Some(EventStatus::Completed));
    let untrusting = SupervisorClient::new(&sup.url).unwrap();
    let refused = bounded(untrusting.jobs_subscribe(USER, None)).await;
    assert!(
        matches!(&refused, Err(ClientError::WebSocket { .. })),
        "{refused:?}"
    );
    sup.stop().await;
}

#[tokio::test]
async fn health_answers_over_https() {
    let sup = TlsSupervisor::start().await;
    let response = bounded(sup.http().get(format!("{}/health", sup.url)).send())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let health: Value = bounded(response.json()).await.unwrap();
    assert_eq!(health["status"], "ok");
    sup.stop().await;
}

#[tokio::test]
async fn plain_http_on_the_tls_port_gets_no_json_rpc_answer() {
    let sup = TlsSupervisor::start().await;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "rpc.discover"});
    let sent = bounded(
        reqwest::Client::new()
            .post(format!("http://{}", sup.address))
            .json(&body)
            .send(),
    )
    .await;
    if let Ok(response) = sent {
        let text = bounded(response.text()).await.unwrap_or_default();
        assert!(!text.contains("jsonrpc"), "plain HTTP was answered: {text}");
    }
    // The refused connection left the server serving.
    let methods = bounded(sup.client().rpc_discover()).await.unwrap();
    assert!(methods["methods"].is_array());
    sup.stop().await;
}

#[tokio::test]
async fn a_client_not_trusting_the_certificate_is_refused_with_a_clear_error() {
    let sup = TlsSupervisor::start().await;
    let client = SupervisorClient::new(&sup.url).unwrap();
    let err = bounded(client.rpc_discover()).await.unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
    let message = chain(&err);
    assert!(message.contains("certificate"), "{message}");
    sup.stop().await;
}

#[tokio::test]
async fn a_root_certificate_that_is_not_pem_is_refused() {
    let err = SupervisorClient::new("https://localhost:1")
        .unwrap()
        .with_root_certificate("not a certificate")
        .unwrap_err();
    assert!(
        matches!(err, ClientError::InvalidCertificate { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_same_methods_answer_over_wss() {
    use futures::{SinkExt, StreamExt};
    use rustls::pki_types::pem::PemObject;
    use tokio_tungstenite::tungstenite::Message;

    let sup = TlsSupervisor::start().await;
    let mut roots = rustls::RootCertStore::empty();
    let cert = rustls::pki_types::CertificateDer::from_pem_slice(sup.certificate.pem.as_bytes());
    roots.add(cert.unwrap()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let tcp = bounded(tokio::net::TcpStream::connect(sup.address))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = bounded(connector.connect(name, tcp)).await.unwrap();
    let ws_url = sup.url.replace("https://", "wss://");
    let (mut socket, _) = bounded(tokio_tungstenite::client_async(ws_url, stream))
        .await
        .expect("websocket connects over TLS");
    let request = json!({"jsonrpc": "2.0", "id": 7, "method": "job.run",
                         "params": {"secret": USER, "job": {"caller_id": "tests",
                         "context_id": "ctx", "payload": "print(\"Hello\")", "executor": "osis",
                         "runner": common::RUNNER, "timeout": 20}}});
    bounded(socket.send(Message::text(request.to_string())))
        .await
        .unwrap();
    let answer = bounded(socket.next()).await.expect("an answer").unwrap();
    let answer: Value = serde_json::from_str(answer.to_text().unwrap()).unwrap();
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["result"], json!({"success": "Hello"}));
    sup.stop().await;
}

fn tls_table(cert: &Path, key: &Path) -> String {
    format!(
        "admin_secrets = [\"a\"]\n[tls]\ncert_path = \"{}\"\nkey_path = \"{}\"\n",
        cert.display(),
        key.display()
    )
}

#[test]
fn a_missing_certificate_file_is_one_line_naming_the_key_and_file() {
    let certificate = Certificate::generate();
    let missing = certificate.dir.path().join("no-such-cert.pem");
    let (ok, stderr) = common::run_binary_until_exit(
        &tls_table(&missing, &certificate.key_path()),
        certificate.dir.path(),
    );
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("tls.cert_path"), "{stderr}");
    assert!(stderr.contains("no-such-cert.pem"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_key_file_without_a_key_is_named_but_never_shown() {
    let certificate = Certificate::generate();
    let key = certificate.dir.path().join("bad-key.pem");
    std::fs::write(&key, "hunter2-is-not-a-key\n").unwrap();
    let (ok, stderr) = common::run_binary_until_exit(
        &tls_table(&certificate.cert_path(), &key),
        certificate.dir.path(),
    );
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("tls.key_path"), "{stderr}");
    assert!(stderr.contains("bad-key.pem"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let certificate = Certificate::generate();
    let other = Certificate::generate();
    let (ok, stderr) = common::run_binary_until_exit(
        &tls_table(&certificate.cert_path(), &other.key_path()),
        certificate.dir.path(),
    );
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("key `tls`"), "{stderr}");
}

#[test]
fn an_unknown_key_in_the_tls_table_is_refused() {
    let certificate = Certificate::generate();
    let config = format!(
        "{}ca_path = \"/etc/ssl/ca.pem\"\n",
        tls_table(&certificate.cert_path(), &certificate.key_path())
    );
    let (ok, stderr) = common::run_binary_until_exit(&config, certificate.dir.path());
    assert!(!ok);
    assert!(stderr.contains("ca_path"), "{stderr}");
}

#[tokio::test]
async fn the_binary_says_it_listens_on_https() {
    use std::io::{BufRead, BufReader};

    let redis = RedisServer::start();
    let certificate = Certificate::generate();
    let port = hero_test_support::free_port();
    let config = format!(
        "redis_url = \"{}\"\nport = {port}\n{}",
        redis.url(),
        tls_table(&certificate.cert_path(), &certificate.key_path())
    );
    let path = certificate.dir.path().join("config.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(SUPERVISOR)
        .arg("--config")
        .arg(&path)
        .env("HERO_SUPERVISOR_DATA_DIR", certificate.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let trusted = reqwest::Certificate::from_pem(certificate.pem.as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([trusted])
        .build()
        .unwrap();
    let health = bounded(http.get(format!("https://localhost:{port}/health")).send()).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        first.starts_with(&format!("supervisor listening on https://127.0.0.1:{port}")),
        "{first}"
    );
    assert_eq!(health.unwrap().status(), 200);
}
