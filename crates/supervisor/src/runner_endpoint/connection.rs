//! One runner's connection: reads request lines, runs each request in its own task (a
//! long-polling claim must not hold up the heartbeat behind it), writes each answer as a
//! line as soon as it is ready, in whatever order they finish.

use std::sync::Arc;

use hero_store::Store;
use hero_supervisor_api::codes;
use hero_supervisor_api::endpoint::MAX_REQUEST_LINE_BYTES;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::methods::{self, Failure};

/// Most requests one connection may have under way; past it the connection is not read
/// until one finishes, so a runner cannot make the supervisor hold unbounded work.
const MAX_IN_FLIGHT: usize = 64;

/// Serves `stream` until the runner closes it, sends an unreadable line, or `stop` fires.
/// Requests under way when it ends still run to completion: a claim dropped half-way would
/// leave jobs in a worker's hands that it never heard of, and the store recovers those only
/// after a lease.
pub(super) async fn serve(stream: UnixStream, store: Arc<dyn Store>, stop: CancellationToken) {
    let (read, mut write) = stream.into_split();
    let (answers, mut outbox) = mpsc::channel::<String>(MAX_IN_FLIGHT);
    let writer = tokio::spawn(async move {
        while let Some(mut line) = outbox.recv().await {
            line.push('\n');
            if let Err(e) = write.write_all(line.as_bytes()).await {
                tracing::debug!(error = %e, "runner connection closed while answering");
                return;
            }
        }
    });
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut reader = BufReader::new(read);
    loop {
        let line = tokio::select! {
            () = stop.cancelled() => break,
            line = read_line(&mut reader) => line,
        };
        let line = match line {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(failure) => {
                // After an over-long line the stream is out of step: answer once, then close.
                // A runner that already hung up needs no answer.
                let _ = answers.send(error_line(&Value::Null, &failure)).await;
                break;
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let request = match parse(&line) {
            Ok(request) => request,
            Err((id, failure)) => {
                if answers.send(error_line(&id, &failure)).await.is_err() {
                    break;
                }
                continue;
            }
        };
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let store = store.clone();
        let answers = answers.clone();
        tokio::spawn(async move {
            let answer = match methods::call(store.as_ref(), &request.method, request.params).await
            {
                Ok(result) => json!({"jsonrpc": "2.0", "id": request.id, "result": result}),
                Err(failure) => error_object(&request.id, &failure),
            };
            // A runner that hung up no longer wants the answer; the store change stands.
            let _ = answers.send(answer.to_string()).await;
            drop(permit);
        });
    }
    drop(answers);
    // Ends once every request under way has answered (or the runner hung up).
    let _ = writer.await;
}

/// Reads one line of at most [`MAX_REQUEST_LINE_BYTES`]; `None` at the end of the stream.
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> Result<Option<Vec<u8>>, Failure> {
    let mut line = Vec::new();
    let limit = MAX_REQUEST_LINE_BYTES as u64 + 1;
    let read = (&mut *reader)
        .take(limit)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| Failure::new(codes::PARSE_ERROR, format!("cannot read the request: {e}")))?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') && line.len() > MAX_REQUEST_LINE_BYTES {
        return Err(Failure::new(
            codes::INVALID_REQUEST,
            format!("request line longer than {MAX_REQUEST_LINE_BYTES} bytes"),
        ));
    }
    Ok(Some(line))
}

struct Request {
    id: Value,
    method: String,
    params: Option<Value>,
}

fn parse(line: &[u8]) -> Result<Request, (Value, Failure)> {
    let value: Value = serde_json::from_slice(line).map_err(|e| {
        (
            Value::Null,
            Failure::new(codes::PARSE_ERROR, format!("parse error: {e}")),
        )
    })?;
    let invalid = |id: Value, why: &str| {
        Err((
            id,
            Failure::new(codes::INVALID_REQUEST, format!("invalid request: {why}")),
        ))
    };
    let Value::Object(mut object) = value else {
        return invalid(
            Value::Null,
            "one JSON-RPC request object per line, no batches",
        );
    };
    let id = match object.remove("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id,
        _ => return invalid(Value::Null, "`id` must be a number or a string"),
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid(id, "`jsonrpc` must be \"2.0\"");
    }
    let Some(Value::String(method)) = object.remove("method") else {
        return invalid(id, "`method` must be a string");
    };
    Ok(Request {
        id,
        method,
        params: object.remove("params"),
    })
}

fn error_object(id: &Value, failure: &Failure) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": failure.code, "message": failure.message},
    })
}

fn error_line(id: &Value, failure: &Failure) -> String {
    error_object(id, failure).to_string()
}
