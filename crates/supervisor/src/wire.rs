//! Request bodies the RPC library would misread, made standard before it sees them.
//!
//! JSON-RPC 2.0 lets an id be any string, number or null. The library holds numeric ids as
//! `u64`: a call with id `-1` or `1.5` was taken for a notification, which it drops, so the
//! call never ran and its caller got no answer. Ids of other types (objects, arrays, booleans) and valid JSON that is no
//! request at all (`{"foo": 1}`, `"hello"`) must be answered with -32600, which the library
//! did not do either. [`plan`] looks at a body without decoding its params and says what to
//! do; the common case, a well-formed request, passes through untouched.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

/// What to do with one request body.
#[derive(Debug, PartialEq)]
pub(crate) enum Plan {
    /// Hand it to the RPC library as it is.
    PassThrough,
    /// A notification, given a stand-in id so that the library runs it (it would drop it):
    /// hand this body on, discard the response and answer HTTP 204 with no body, since
    /// JSON-RPC gives a notification no response.
    Notification(String),
    /// Answer it with this JSON-RPC response without running anything.
    Answer(String),
    /// Hand this body to the RPC library instead, then give the ids in [`Ids`] back to the
    /// response with [`restore`].
    Rewrite(String, Ids),
}

/// Stand-in string ids and the ids they stand for (raw JSON).
pub(crate) type Ids = HashMap<String, String>;

/// The parts of a request that decide how it is read; everything else is skipped unread.
#[derive(Deserialize)]
struct Probe<'a> {
    /// `None` when absent; an explicit `null` is `Some`.
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    /// Any JSON: a method that is not a string is the library's to refuse.
    #[serde(borrow, default)]
    method: Option<&'a RawValue>,
}

impl Probe<'_> {
    /// The method's name, when it is a string.
    fn method_name(&self) -> Option<std::borrow::Cow<'_, str>> {
        serde_json::from_str(self.method?.get()).ok()
    }
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// How the library would read a request's id.
enum IdKind {
    /// Absent, null, a string or a `u64`: read as sent.
    Fine,
    /// A number it cannot hold: negative, fractional, or past `u64`.
    Unheld,
    /// Not an id JSON-RPC allows.
    Invalid,
}

fn id_kind(id: Option<&RawValue>) -> IdKind {
    let Some(id) = id else {
        return IdKind::Fine;
    };
    let text = id.get();
    match text.as_bytes().first() {
        Some(b'"') | Some(b'n') => IdKind::Fine,
        Some(b'-' | b'0'..=b'9') if text.parse::<u64>().is_ok() => IdKind::Fine,
        Some(b'-' | b'0'..=b'9') => IdKind::Unheld,
        _ => IdKind::Invalid,
    }
}

/// What to do with `body`.
pub(crate) fn plan(body: &[u8]) -> Plan {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    match start.map(|i| body[i]) {
        Some(b'{') => plan_single(body),
        Some(b'[') => plan_batch(body),
        // Not JSON at all is the library's parse error; valid JSON that is no request is ours.
        _ if serde_json::from_slice::<IgnoredAny>(body).is_ok() => {
            Plan::Answer(invalid_request("null"))
        }
        _ => Plan::PassThrough,
    }
}

fn plan_single(body: &[u8]) -> Plan {
    let Ok(probe) = serde_json::from_slice::<Probe>(body) else {
        return Plan::PassThrough;
    };
    match (id_kind(probe.id), probe.method.is_some()) {
        (IdKind::Fine, true) if probe.id.is_none() => {
            let nonce = uuid::Uuid::new_v4().simple().to_string();
            match with_id(body, &token(&nonce, 0)) {
                Some(call) => Plan::Notification(call),
                None => Plan::PassThrough,
            }
        }
        (IdKind::Fine, true) => match probe.method_name().as_deref().and_then(websocket_only) {
            // The library answers a subscription over HTTP with a bare "internal error".
            Some(method) => Plan::Answer(websocket_only_answer(
                probe.id.map_or("null", RawValue::get),
                method,
            )),
            None => Plan::PassThrough,
        },
        (IdKind::Invalid, _) => Plan::Answer(invalid_request("null")),
        (_, false) => Plan::Answer(invalid_request(probe.id.map_or("null", RawValue::get))),
        (IdKind::Unheld, true) => {
            let mut ids = Ids::new();
            let nonce = uuid::Uuid::new_v4().simple().to_string();
            match stand_in(body, &nonce, &mut ids) {
                Some(rewritten) => Plan::Rewrite(rewritten, ids),
                None => Plan::PassThrough,
            }
        }
    }
}

fn plan_batch(body: &[u8]) -> Plan {
    let Ok(calls) = serde_json::from_slice::<Vec<&RawValue>>(body) else {
        return Plan::PassThrough;
    };
    let kinds: Vec<Option<IdKind>> = calls
        .iter()
        .map(|call| {
            serde_json::from_str::<Probe>(call.get())
                .ok()
                .map(|probe| id_kind(probe.id))
        })
        .collect();
    if kinds.iter().all(|k| matches!(k, None | Some(IdKind::Fine))) {
        return Plan::PassThrough;
    }
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let mut ids = Ids::new();
    let mut rewritten = Vec::with_capacity(calls.len());
    for (call, kind) in calls.iter().zip(kinds) {
        let part = match kind {
            Some(IdKind::Unheld) => stand_in(call.get().as_bytes(), &nonce, &mut ids),
            // Not run: a call with no method is answered -32600 by the library, under a
            // stand-in id that becomes null again.
            Some(IdKind::Invalid) => {
                let token = token(&nonce, ids.len());
                ids.insert(token.clone(), "null".to_owned());
                Some(serde_json::json!({"jsonrpc": "2.0", "id": token}).to_string())
            }
            _ => None,
        };
        rewritten.push(part.unwrap_or_else(|| call.get().to_owned()));
    }
    Plan::Rewrite(format!("[{}]", rewritten.join(",")), ids)
}

/// `call` with its id replaced by a fresh stand-in string recorded in `ids`; `None` when
/// `call` is not an object.
fn stand_in(call: &[u8], nonce: &str, ids: &mut Ids) -> Option<String> {
    let fields: BTreeMap<String, &RawValue> = serde_json::from_slice(call).ok()?;
    let original = fields.get("id")?.get().to_owned();
    let token = token(nonce, ids.len());
    let text = with_id(call, &token)?;
    ids.insert(token, original);
    Some(text)
}

/// `call` with an `id` field set to the string `id`.
fn with_id(call: &[u8], id: &str) -> Option<String> {
    let mut fields: BTreeMap<String, &RawValue> = serde_json::from_slice(call).ok()?;
    let quoted = RawValue::from_string(serde_json::to_string(id).ok()?).ok()?;
    fields.insert("id".to_owned(), &quoted);
    serde_json::to_string(&fields).ok()
}

/// A stand-in id no client sends: it starts with a NUL and carries a per-request nonce.
fn token(nonce: &str, n: usize) -> String {
    format!("\u{0}hero-id:{nonce}:{n}")
}

/// `method` when it is a subscription, which only a WebSocket connection can carry.
fn websocket_only(method: &str) -> Option<&'static str> {
    hero_supervisor_api::methods::SUBSCRIPTIONS
        .iter()
        .map(|m| m.name)
        .find(|name| *name == method)
}

fn websocket_only_answer(id: &str, method: &str) -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": serde_json::from_str::<serde_json::Value>(id).unwrap_or_default(),
        "error": {
            "code": hero_supervisor_api::codes::METHOD_NOT_FOUND,
            "message": format!(
                "`{method}` is served over WebSocket only: open a WebSocket on this same \
                 address (ws:// or wss://) and call it there"
            ),
        },
    })
    .to_string()
}

fn invalid_request(id: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32600,"message":"Invalid request: not a JSON-RPC 2.0 request object, or its id is not a string, number or null"}}}}"#
    )
}

/// `response` with every stand-in id of `ids` replaced by the id it stands for; `None` when
/// the response is not JSON-RPC (then it is passed on unchanged).
pub(crate) fn restore(response: &[u8], ids: &Ids) -> Option<String> {
    let start = response.iter().position(|b| !b.is_ascii_whitespace())?;
    if response[start] == b'[' {
        let parts: Vec<&RawValue> = serde_json::from_slice(response).ok()?;
        let restored: Option<Vec<String>> = parts
            .iter()
            .map(|part| restore_one(part.get().as_bytes(), ids))
            .collect();
        Some(format!("[{}]", restored?.join(",")))
    } else {
        restore_one(response, ids)
    }
}

fn restore_one(response: &[u8], ids: &Ids) -> Option<String> {
    let mut fields: BTreeMap<String, &RawValue> = serde_json::from_slice(response).ok()?;
    let Some(original) = fields
        .get("id")
        .and_then(|id| serde_json::from_str::<String>(id.get()).ok())
        .and_then(|token| ids.get(&token))
    else {
        return std::str::from_utf8(response).ok().map(str::to_owned);
    };
    let original = RawValue::from_string(original.clone()).ok()?;
    fields.insert("id".to_owned(), &original);
    serde_json::to_string(&fields).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::{Value, json};

    use super::*;

    fn rewrite(body: &str) -> (Value, Ids) {
        match plan(body.as_bytes()) {
            Plan::Rewrite(text, ids) => (serde_json::from_str(&text).unwrap(), ids),
            other => panic!("expected a rewrite of {body}, got {other:?}"),
        }
    }

    fn answer(body: &str) -> Value {
        match plan(body.as_bytes()) {
            Plan::Answer(text) => serde_json::from_str(&text).unwrap(),
            other => panic!("expected an answer to {body}, got {other:?}"),
        }
    }

    #[test]
    fn well_formed_requests_pass_through() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}"#,
            r#"{"jsonrpc":"2.0","id":"a","method":"m","params":{"x":-1.5}}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"m"}"#,
            r#"[{"jsonrpc":"2.0","id":1,"method":"m"},{"jsonrpc":"2.0","id":2,"method":"n"}]"#,
            r#"{"jsonrpc":"2.0","id":1,"method""#,
            "not json",
            "[]",
        ] {
            assert_eq!(plan(body.as_bytes()), Plan::PassThrough, "{body}");
        }
    }

    #[test]
    fn a_subscription_over_http_is_answered_that_it_needs_a_websocket() {
        let body = br#"{"jsonrpc": "2.0", "id": 7, "method": "jobs.subscribe", "params": ["s"]}"#;
        let Plan::Answer(answer) = plan(body) else {
            panic!("answered without running")
        };
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["id"], 7);
        assert_eq!(answer["error"]["code"], -32601);
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("WebSocket only")
        );
        let escaped = br#"{"jsonrpc": "2.0", "id": 1, "method": "job\u002erun", "params": []}"#;
        assert_eq!(plan(escaped), Plan::PassThrough);
    }

    #[test]
    fn a_call_without_an_id_is_a_notification() {
        let Plan::Notification(call) = plan(br#"{"jsonrpc":"2.0","method":"notify","params":[]}"#)
        else {
            panic!("not taken for a notification");
        };
        let call: Value = serde_json::from_str(&call).unwrap();
        assert!(call["id"].as_str().unwrap().contains("hero-id"), "{call}");
        assert_eq!(call["method"], "notify");
    }

    #[test]
    fn numeric_ids_the_library_cannot_hold_are_stood_in_for_and_restored() {
        for id in ["-1", "1.5", "18446744073709551616", "-0", "1e3"] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"m","params":[1]}}"#);
            let (rewritten, ids) = rewrite(&body);
            let token = rewritten["id"].as_str().unwrap().to_owned();
            assert_eq!(rewritten["params"], json!([1]));
            let response = format!(r#"{{"jsonrpc":"2.0","id":{},"result":7}}"#, json!(token));
            let restored = restore(response.as_bytes(), &ids).unwrap();
            assert!(restored.contains(&format!(r#""id":{id}"#)), "{restored}");
        }
    }

    #[test]
    fn ids_of_other_types_and_non_requests_are_invalid_requests() {
        for body in [
            r#"{"jsonrpc":"2.0","id":{"a":1},"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":[1],"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":true,"method":"m"}"#,
            r#"{"foo":"bar"}"#,
            r#""hello""#,
            "5",
        ] {
            let answer = answer(body);
            assert_eq!(answer["error"]["code"], -32600, "{body}");
            assert_eq!(answer["id"], Value::Null, "{body}");
        }
        assert_eq!(answer(r#"{"jsonrpc":"2.0","id":4}"#)["id"], 4);
    }

    #[test]
    fn a_batch_keeps_its_good_calls_and_neuters_the_invalid_ones() {
        let (rewritten, ids) = rewrite(
            r#"[{"jsonrpc":"2.0","id":-7,"method":"m"},{"jsonrpc":"2.0","id":{},"method":"run"},{"jsonrpc":"2.0","id":3,"method":"n"}]"#,
        );
        let calls = rewritten.as_array().unwrap();
        assert_eq!(calls.len(), 3);
        assert_eq!(calls[0]["method"], "m");
        assert!(
            calls[1].get("method").is_none(),
            "a call with an invalid id never runs"
        );
        assert_eq!(calls[2]["id"], 3);
        let response = json!([
            {"jsonrpc": "2.0", "id": calls[0]["id"], "result": 1},
            {"jsonrpc": "2.0", "id": calls[1]["id"], "error": {"code": -32600, "message": "x"}},
            {"jsonrpc": "2.0", "id": 3, "result": 2},
        ]);
        let restored: Value =
            serde_json::from_str(&restore(response.to_string().as_bytes(), &ids).unwrap()).unwrap();
        assert_eq!(restored[0]["id"], -7);
        assert_eq!(restored[1]["id"], Value::Null);
        assert_eq!(restored[2]["id"], 3);
    }
}
