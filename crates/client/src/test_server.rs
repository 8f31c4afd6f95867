//! A tiny HTTP/1.1 server for tests: it records each request and answers it from a closure,
//! so the client's real HTTP round trip can be checked without a supervisor.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Every wait in these tests is bounded by this, so a broken client fails instead of hanging.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// One request as the server read it.
#[derive(Debug)]
pub(crate) struct Request {
    /// The request line and headers.
    pub(crate) head: String,
    /// The body, parsed as JSON (`null` if it is not).
    pub(crate) body: Value,
}

impl Request {
    /// The value of header `name`, compared case-insensitively.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

/// A running test server; stops accepting when dropped.
pub(crate) struct Server {
    /// `http://127.0.0.1:PORT/`.
    pub(crate) url: String,
    requests: mpsc::Receiver<Request>,
    accept: JoinHandle<()>,
}

impl Server {
    /// The first `n` requests received, in order.
    pub(crate) async fn requests(mut self, n: usize) -> Vec<Request> {
        let mut requests = Vec::with_capacity(n);
        for _ in 0..n {
            let request = tokio::time::timeout(TIMEOUT, self.requests.recv())
                .await
                .expect("the request arrives in time")
                .expect("the server is running");
            requests.push(request);
        }
        requests
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// The raw answer to one request: status line text, content type, body. `None`: never answer.
type Answer = Option<(&'static str, &'static str, String)>;

/// Answers each JSON-RPC request with `respond(request body)`, status 200.
pub(crate) async fn start(respond: impl Fn(&Value) -> Value + Send + Sync + 'static) -> Server {
    serve(move |body| Some(("200 OK", "application/json", respond(body).to_string()))).await
}

/// Answers every request with the same status, content type and body.
pub(crate) async fn start_raw(
    status: &'static str,
    content_type: &'static str,
    body: &'static str,
) -> Server {
    serve(move |_| Some((status, content_type, body.to_owned()))).await
}

/// Reads requests and never answers them.
pub(crate) async fn start_silent() -> Server {
    serve(|_| None).await
}

/// A successful JSON-RPC response to `request` carrying `result`.
pub(crate) fn result(request: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": request["id"], "result": result})
}

/// A JSON-RPC error response to `request`.
pub(crate) fn error(request: &Value, code: i32, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": request["id"], "error": {"code": code, "message": message}})
}

/// The URL of a local port nothing listens on.
pub(crate) async fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("bound").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/")
}

async fn serve(answer: impl Fn(&Value) -> Answer + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("bound"));
    let (tx, requests) = mpsc::channel(64);
    let answer = std::sync::Arc::new(answer);
    let accept = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tx, answer) = (tx.clone(), answer.clone());
            tokio::spawn(async move { connection(stream, tx, &*answer).await });
        }
    });
    Server {
        url,
        requests,
        accept,
    }
}

/// Serves one request on `stream`, then closes it (or holds it open when not answering).
async fn connection(
    mut stream: TcpStream,
    tx: mpsc::Sender<Request>,
    answer: &(dyn Fn(&Value) -> Answer + Send + Sync),
) {
    let request = read_request(&mut stream).await;
    let reply = answer(&request.body);
    tx.send(request).await.expect("the test holds the receiver");
    let Some((status, content_type, body)) = reply else {
        // Hold the connection open, unanswered, until the test ends.
        return std::future::pending().await;
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await.expect("write");
    stream.shutdown().await.expect("shutdown");
}

async fn read_request(stream: &mut TcpStream) -> Request {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "connection closed inside the request head");
        bytes.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let mut request = Request {
        head,
        body: Value::Null,
    };
    let length: usize = request
        .header("content-length")
        .map(|len| len.parse().expect("numeric content-length"))
        .unwrap_or(0);
    let body_start = head_end + 4;
    while bytes.len() < body_start + length {
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "connection closed inside the request body");
        bytes.extend_from_slice(&chunk[..n]);
    }
    request.body =
        serde_json::from_slice(&bytes[body_start..body_start + length]).unwrap_or(Value::Null);
    request
}
