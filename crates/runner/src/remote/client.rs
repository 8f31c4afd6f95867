//! One connection to the supervisor's runner endpoint, shared by every call of a runner:
//! requests go out as lines through one writer task, answers come back in any order and are
//! matched to their call by id. A connection that breaks is replaced by the next call.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hero_store::Error;
use hero_supervisor_api::codes;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};

/// Longest answer line read, in bytes: a claim of many jobs with maximal payloads.
const MAX_ANSWER_LINE_BYTES: usize = 256 << 20;

/// How long connecting to the socket may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Requests queued for the writer before callers wait for room.
const OUTBOX: usize = 64;

type Answer = Result<Value, Error>;

/// Calls on the runner endpoint at a Unix socket.
pub(super) struct Client {
    path: PathBuf,
    next_id: AtomicU64,
    /// The live connection; replaced under this lock, so concurrent callers after a break
    /// open one new connection, not one each.
    connection: tokio::sync::Mutex<Option<Arc<Connection>>>,
}

/// The calls waiting for their answer on one connection, or `None` once it broke.
type Waiting = Arc<Mutex<Option<HashMap<u64, oneshot::Sender<Answer>>>>>;

struct Connection {
    outbox: mpsc::Sender<String>,
    waiting: Waiting,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Client {
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            next_id: AtomicU64::new(1),
            connection: tokio::sync::Mutex::new(None),
        }
    }

    /// Calls `method` with `params`, giving up after `timeout`.
    ///
    /// # Errors
    ///
    /// `Unavailable` when the socket cannot be reached, the connection breaks, no answer
    /// comes in time, or the supervisor says its store is unavailable: retrying may help.
    /// `Unsupported` when the supervisor refused the request.
    pub(super) async fn call(&self, method: &str, params: Value, timeout: Duration) -> Answer {
        let connection = self.connection().await?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        {
            let mut waiting = connection
                .waiting
                .lock()
                .expect("never poisoned: no panics");
            let Some(waiting) = waiting.as_mut() else {
                return Err(broken("the connection to the supervisor closed"));
            };
            waiting.insert(id, answer);
        }
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if connection.outbox.send(line.to_string()).await.is_err() {
            return Err(broken("the connection to the supervisor closed"));
        }
        match tokio::time::timeout(timeout, answered).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(broken("the connection to the supervisor closed")),
            Err(_) => {
                if let Some(waiting) = connection
                    .waiting
                    .lock()
                    .expect("never poisoned: no panics")
                    .as_mut()
                {
                    waiting.remove(&id);
                }
                Err(broken(&format!(
                    "the supervisor did not answer `{method}` within {timeout:?}"
                )))
            }
        }
    }

    async fn connection(&self) -> Result<Arc<Connection>, Error> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref()
            && connection.is_open()
        {
            return Ok(connection.clone());
        }
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, UnixStream::connect(&self.path))
            .await
            .map_err(|_| broken("connecting to the supervisor's runner socket timed out"))?
            .map_err(|e| {
                broken(&format!(
                    "cannot connect to the supervisor's runner socket `{}`: {e}",
                    self.path.display()
                ))
            })?;
        let connection = Arc::new(Connection::open(stream));
        *slot = Some(connection.clone());
        Ok(connection)
    }
}

impl Connection {
    fn open(stream: UnixStream) -> Self {
        let (read, write) = stream.into_split();
        let waiting: Waiting = Arc::new(Mutex::new(Some(HashMap::new())));
        let (outbox, lines) = mpsc::channel(OUTBOX);
        let reader = tokio::spawn(read_answers(read, waiting.clone()));
        tokio::spawn(write_requests(write, lines, waiting.clone()));
        Self {
            outbox,
            waiting,
            reader,
        }
    }

    fn is_open(&self) -> bool {
        self.waiting
            .lock()
            .expect("never poisoned: no panics")
            .is_some()
            && !self.outbox.is_closed()
    }
}

/// Writes each request whole, so a caller that gives up mid-call never leaves half a line.
async fn write_requests(
    mut write: OwnedWriteHalf,
    mut lines: mpsc::Receiver<String>,
    waiting: Waiting,
) {
    while let Some(mut line) = lines.recv().await {
        line.push('\n');
        if let Err(e) = write.write_all(line.as_bytes()).await {
            tracing::debug!(error = %e, "writing to the supervisor failed");
            break;
        }
    }
    close(&waiting);
}

async fn read_answers(read: OwnedReadHalf, waiting: Waiting) {
    let mut reader = BufReader::new(read);
    loop {
        let mut line = Vec::new();
        let read = (&mut reader)
            .take(MAX_ANSWER_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .await;
        match read {
            Ok(0) => break,
            Ok(_) if line.last() != Some(&b'\n') && line.len() > MAX_ANSWER_LINE_BYTES => {
                tracing::warn!("an answer from the supervisor is too long; reconnecting");
                break;
            }
            Ok(_) => deliver(&line, &waiting),
            Err(e) => {
                tracing::debug!(error = %e, "reading from the supervisor failed");
                break;
            }
        }
    }
    close(&waiting);
}

/// Hands one answer line to the call waiting for it.
fn deliver(line: &[u8], waiting: &Waiting) {
    let Ok(mut answer) = serde_json::from_slice::<Value>(line) else {
        tracing::warn!("the supervisor sent a line that is not JSON; ignored");
        return;
    };
    let Some(id) = answer.get("id").and_then(Value::as_u64) else {
        let message = answer.pointer("/error/message").and_then(Value::as_str);
        tracing::warn!(
            ?message,
            "the supervisor answered a request it could not read"
        );
        return;
    };
    let sender = waiting
        .lock()
        .expect("never poisoned: no panics")
        .as_mut()
        .and_then(|waiting| waiting.remove(&id));
    let Some(sender) = sender else {
        // A call that timed out or was dropped no longer wants its answer.
        return;
    };
    let outcome = match answer.get_mut("error") {
        Some(error) => Err(refused(error)),
        None => Ok(answer
            .get_mut("result")
            .map(Value::take)
            .unwrap_or_default()),
    };
    // The caller may have gone in the meantime.
    let _ = sender.send(outcome);
}

/// Marks the connection broken: every waiting call is told at once (its sender drops).
fn close(waiting: &Waiting) {
    waiting.lock().expect("never poisoned: no panics").take();
}

fn refused(error: &Value) -> Error {
    let code = error
        .get("code")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message")
        .to_owned();
    if code == i64::from(codes::BACKEND_UNAVAILABLE) {
        Error::Unavailable { reason: message }
    } else {
        Error::Unsupported {
            reason: format!("the supervisor refused the request ({code}): {message}"),
        }
    }
}

fn broken(reason: &str) -> Error {
    Error::Unavailable {
        reason: reason.to_owned(),
    }
}
