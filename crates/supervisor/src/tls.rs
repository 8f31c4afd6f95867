//! TLS for the API: the `[tls]` certificate and key read into a rustls server config, and the
//! accept loop that serves JSON-RPC, WebSocket and `/health` over it.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse, Methods, StopHandle};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsConfig;
use crate::error::ConfigError;

/// How long a client may take to finish the TLS handshake: a peer that connects and stays
/// silent must not hold a task for ever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to pause after a failed `accept` (out of file descriptors, say), so that a
/// persistent failure does not become a busy loop.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// The rustls server config for `tls`: its certificate chain and private key, on the ring
/// provider, offering HTTP/2 and HTTP/1.1.
///
/// # Errors
///
/// [`ConfigError::Invalid`] naming `tls.cert_path` or `tls.key_path` and the file when a file
/// cannot be read or holds no usable certificate or key, and naming `tls` when the key does
/// not belong to the certificate. The key file's contents never appear in the message.
pub(crate) fn server_config(tls: &TlsConfig) -> Result<Arc<rustls::ServerConfig>, ConfigError> {
    let certs = read_certs(&tls.cert_path)?;
    let key = read_key(&tls.key_path)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // Loaded once on its own so that a key of an unsupported kind is blamed on its file,
    // not on the pair.
    provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| {
            invalid(
                "tls.key_path",
                format!(
                    "`{}` holds no usable private key: {e}",
                    tls.key_path.display()
                ),
            )
        })?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("tls", format!("no usable TLS version: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            invalid(
                "tls",
                format!(
                    "the key in `{}` cannot serve the certificate in `{}`: {e}",
                    tls.key_path.display(),
                    tls.cert_path.display()
                ),
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn invalid(key: &str, reason: String) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        reason,
    }
}

fn read_pem(key: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| invalid(key, format!("cannot read `{}`: {e}", path.display())))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let pem = read_pem("tls.cert_path", path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            invalid(
                "tls.cert_path",
                format!("`{}` is not a valid PEM file", path.display()),
            )
        })?;
    if certs.is_empty() {
        return Err(invalid(
            "tls.cert_path",
            format!("no PEM certificate in `{}`", path.display()),
        ));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let pem = read_pem("tls.key_path", path)?;
    // The parser's own messages may quote a line of the file, so they are not passed on.
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| {
        invalid(
            "tls.key_path",
            format!(
                "no PKCS#8, RSA or EC private key in PEM format in `{}`",
                path.display()
            ),
        )
    })
}

/// Accepts TCP connections on `listener` until `stop` fires, and serves each one over TLS
/// with a service from `service`, so HTTP, WebSocket and the HTTP middleware behave exactly
/// as on the plain server.
///
/// Each connection's service holds a clone of `stop`: the server's handle reports it stopped
/// once the loop and every connection have finished.
pub(crate) async fn serve<S, F>(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    methods: Methods,
    service: F,
    stop: StopHandle,
) where
    F: Fn(Methods, StopHandle) -> S,
    S: tower::Service<
            HttpRequest<hyper::body::Incoming>,
            Response = HttpResponse<HttpBody>,
            Error = BoxError,
        > + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let stopped = stop.clone().shutdown();
    tokio::pin!(stopped);
    loop {
        let socket = tokio::select! {
            () = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(e) => {
                    tracing::debug!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
        };
        let connection = serve_connection(
            socket,
            acceptor.clone(),
            service(methods.clone(), stop.clone()),
            stop.clone().shutdown(),
        );
        tokio::spawn(connection);
    }
}

async fn serve_connection<S>(
    socket: tokio::net::TcpStream,
    acceptor: TlsAcceptor,
    service: S,
    stopped: impl Future<Output = ()>,
) where
    S: tower::Service<
            HttpRequest<hyper::body::Incoming>,
            Response = HttpResponse<HttpBody>,
            Error = BoxError,
        > + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let peer = socket.peer_addr().ok();
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
        Ok(Ok(stream)) => stream,
        // A scanner, a plain-HTTP client or a client that distrusts the certificate: their
        // problem, not the server's, so it is only worth a debug line.
        Ok(Err(e)) => {
            tracing::debug!(?peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(?peer, "TLS handshake timed out");
            return;
        }
    };
    if let Err(e) = jsonrpsee::server::serve_with_graceful_shutdown(stream, service, stopped).await
    {
        tracing::debug!(?peer, error = %e, "connection ended with an error");
    }
}
