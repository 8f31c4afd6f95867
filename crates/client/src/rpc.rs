//! The JSON-RPC 2.0 envelope: a request with params by name, and the decoding of the answer.
//!
//! Pure functions over JSON; `client.rs` sends what [`request`] builds and hands the answer
//! to [`decode`]. Param names come from the method table in `hero_supervisor_api`.

use hero_supervisor_api::methods::{self, Method};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::ClientError;

/// The body of a call to `method`, `args` given in the method's positional order.
///
/// Params go by name, under the names the method table declares; `None` leaves an optional
/// param out. A method without params is sent without a `params` member.
pub(crate) fn request<const N: usize>(
    id: u64,
    method: &'static str,
    args: [Option<Value>; N],
) -> Result<Value, ClientError> {
    let declared = methods::find(method).ok_or_else(|| ClientError::InvalidParams {
        message: format!("`{method}` is not a method of the supervisor api"),
    })?;
    let params = named(declared, args)?;
    let mut body = json!({"jsonrpc": "2.0", "id": id, "method": method});
    if !declared.params.is_empty() {
        body["params"] = Value::Object(params);
    }
    Ok(body)
}

pub(crate) fn named<const N: usize>(
    method: &Method,
    args: [Option<Value>; N],
) -> Result<Map<String, Value>, ClientError> {
    if N != method.params.len() {
        return Err(ClientError::InvalidParams {
            message: format!(
                "`{}` takes {} params, the client passed {N}",
                method.name,
                method.params.len()
            ),
        });
    }
    let mut params = Map::new();
    for (param, arg) in method.params.iter().zip(args) {
        match arg {
            Some(value) => {
                params.insert(param.name.to_owned(), value);
            }
            None if param.required => {
                return Err(ClientError::InvalidParams {
                    message: format!("`{}` needs param `{}`", method.name, param.name),
                });
            }
            None => {}
        }
    }
    Ok(params)
}

/// The error member of a JSON-RPC response; `data` is ignored.
#[derive(Deserialize)]
struct ErrorObject {
    code: i32,
    message: String,
}

/// The result of the response `body` to request `id`, or the error it carries.
///
/// # Errors
///
/// The server's error, typed by its code; [`ClientError::InvalidResponse`] when the body is
/// not a JSON-RPC response to `id` or its result does not have the shape of `T`.
pub(crate) fn decode<T: DeserializeOwned>(id: u64, body: &[u8]) -> Result<T, ClientError> {
    let invalid = |reason: String| ClientError::InvalidResponse { reason };
    let value: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("body is not JSON: {e}")))?;
    let Value::Object(mut response) = value else {
        return Err(invalid("body is not a JSON-RPC response object".into()));
    };
    if let Some(error) = response.remove("error") {
        // The id of an error may be null (the server could not read ours), so it is not checked.
        let error: ErrorObject = serde_json::from_value(error)
            .map_err(|e| invalid(format!("malformed error object: {e}")))?;
        return Err(ClientError::from_rpc(error.code, error.message));
    }
    if response.get("id") != Some(&Value::from(id)) {
        return Err(invalid(format!("response does not answer request id {id}")));
    }
    let result = response
        .remove("result")
        .ok_or_else(|| invalid("response has neither `result` nor `error`".into()))?;
    serde_json::from_value(result).map_err(|e| invalid(format!("unexpected result: {e}")))
}

#[cfg(test)]
mod tests {
    use hero_supervisor_api::codes;
    use hero_supervisor_api::methods::{ALL, names};

    use super::*;

    fn text(s: &str) -> Option<Value> {
        Some(Value::from(s))
    }

    #[test]
    fn params_go_by_the_declared_names() {
        let body = request(7, names::JOB_START, [text("s"), text("j1")]).unwrap();
        assert_eq!(
            body,
            json!({"jsonrpc": "2.0", "id": 7, "method": "job.start",
                   "params": {"secret": "s", "job_id": "j1"}})
        );
        let body = request(8, names::JOB_STATUS, [text("j1"), text("s")]).unwrap();
        assert_eq!(body["params"], json!({"job_id": "j1", "secret": "s"}));
    }

    #[test]
    fn every_method_is_sent_with_exactly_its_declared_names() {
        for method in ALL {
            let body = match method.params.len() {
                0 => request(1, method.name, []),
                1 => request(1, method.name, [text("a")]),
                2 => request(1, method.name, [text("a"), text("b")]),
                3 => request(1, method.name, [text("a"), text("b"), text("c")]),
                4 => request(1, method.name, [text("a"), text("b"), text("c"), text("d")]),
                5 => request(1, method.name, ["a", "b", "c", "d", "e"].map(text)),
                6 => request(1, method.name, ["a", "b", "c", "d", "e", "f"].map(text)),
                n => panic!("{}: no test shape for {n} params", method.name),
            }
            .unwrap();
            let sent: Vec<&str> = body["params"]
                .as_object()
                .map(|params| params.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let mut declared: Vec<&str> = method.params.iter().map(|p| p.name).collect();
            declared.sort_unstable();
            assert_eq!(sent, declared, "{}", method.name);
        }
    }

    #[test]
    fn an_absent_optional_param_is_left_out() {
        let body = request(1, names::JOB_RESULT, [text("j1"), None]).unwrap();
        assert_eq!(body["params"], json!({"job_id": "j1"}));
    }

    #[test]
    fn a_method_without_params_sends_no_params_member() {
        let body = request(1, names::RPC_DISCOVER, []).unwrap();
        assert!(body.get("params").is_none(), "{body}");
    }

    #[test]
    fn a_wrong_arg_count_or_missing_required_param_is_refused_before_sending() {
        assert!(matches!(
            request(1, names::JOB_START, [text("s")]),
            Err(ClientError::InvalidParams { .. })
        ));
        assert!(matches!(
            request(1, names::JOB_START, [None, text("j")]),
            Err(ClientError::InvalidParams { message }) if message.contains("secret")
        ));
        assert!(request(1, "job.explode", []).is_err());
    }

    #[test]
    fn results_decode_into_their_type() {
        let answer = br#"{"jsonrpc": "2.0", "id": 3, "result": {"success": "42"}}"#;
        let result: hero_job::JobResult = decode(3, answer).unwrap();
        assert_eq!(result, hero_job::JobResult::success("42"));
        let () = decode(4, br#"{"jsonrpc": "2.0", "id": 4, "result": null}"#).unwrap();
    }

    #[test]
    fn error_objects_become_typed_errors() {
        let answer = br#"{"jsonrpc": "2.0", "id": null,
                          "error": {"code": -32002, "message": "job x not found", "data": 1}}"#;
        let err = decode::<Value>(5, answer).unwrap_err();
        assert!(matches!(&err, ClientError::NotFound { message } if message == "job x not found"));
        assert_eq!(err.code(), Some(codes::NOT_FOUND));
    }

    #[test]
    fn malformed_answers_are_invalid_responses() {
        let cases: [&[u8]; 5] = [
            b"<html>bad gateway</html>",
            b"[1, 2]",
            br#"{"jsonrpc": "2.0", "id": 9}"#,
            br#"{"jsonrpc": "2.0", "id": 10, "result": "x"}"#,
            br#"{"jsonrpc": "2.0", "id": 9, "result": 42}"#,
        ];
        for body in cases {
            let err = decode::<String>(9, body).unwrap_err();
            assert!(
                matches!(err, ClientError::InvalidResponse { .. }),
                "{}: {err:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
