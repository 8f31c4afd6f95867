//! Opening a subscription's WebSocket and reading what the supervisor sends on it: the
//! answer to the subscribe request, then notifications, until the socket closes. What is read
//! goes to the [`WasmSubscription`](crate::WasmSubscription)'s state.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Function, JSON, Promise, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::WebSocket;

use crate::error::{self, Failure};
use crate::subscription::{Handlers, Phase, State, WasmSubscription, deliver, fail, get, local};

/// The JSON-RPC id of the subscribe request.
const SUBSCRIBE_ID: u32 = 1;

/// The wire names of one kind of subscription.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Names {
    /// The method that subscribes, e.g. `runner_logs.subscribe`.
    pub(crate) subscribe: &'static str,
    /// The method of the notifications it sends, e.g. `runner_logs.line`.
    pub(crate) notification: &'static str,
    /// The method that ends it, e.g. `runner_logs.unsubscribe`.
    pub(crate) unsubscribe: &'static str,
}

/// How to reach the supervisor: its WebSocket URL, the constructor and the time allowed for
/// the connection and the server's answer.
#[derive(Debug, Clone)]
pub(crate) struct Connect {
    pub(crate) url: String,
    pub(crate) constructor: Option<Function>,
    pub(crate) timeout_ms: u32,
}

#[wasm_bindgen]
extern "C" {
    // The globals, not `window`'s: Node has them and no `window`.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, millis: u32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    pub(crate) fn clear_timeout(timer: &JsValue);
}

/// Opens a connection, subscribes with `params` (by name) and resolves to the
/// [`WasmSubscription`] once the server accepted, or rejects with a `SupervisorError`.
pub(crate) fn open(
    connect: Connect,
    names: Names,
    params: serde_json::Value,
    on_item: Option<Function>,
) -> Promise {
    let socket = match new_socket(&connect) {
        Ok(socket) => socket,
        Err(failure) => return Promise::reject(&error::to_js(failure)),
    };
    let request = serde_json::json!({
        "jsonrpc": "2.0", "id": SUBSCRIBE_ID, "method": names.subscribe, "params": params,
    })
    .to_string();
    let mut settlers = None;
    let promise = Promise::new(&mut |resolve, reject| settlers = Some((resolve, reject)));
    let (resolve, reject) = settlers.expect("a promise's executor runs at once");
    let state = Rc::new(RefCell::new(State {
        names,
        socket: socket.clone(),
        phase: Phase::Opening { resolve, reject },
        id: JsValue::NULL,
        on_item,
        unread: VecDeque::new(),
        readers: VecDeque::new(),
        ended: None,
        closed: None,
        closing: Vec::new(),
        socket_closed: false,
        last_error: None,
        timer: None,
        handlers: None,
    }));
    let handlers = handlers(&state, request, connect.timeout_ms);
    socket.set_onopen(Some(handlers._open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(handlers._message.as_ref().unchecked_ref()));
    socket.set_onerror(Some(handlers._error.as_ref().unchecked_ref()));
    socket.set_onclose(Some(handlers._close.as_ref().unchecked_ref()));
    let timer = set_timeout(
        handlers._timeout.as_ref().unchecked_ref(),
        connect.timeout_ms,
    );
    let mut current = state.borrow_mut();
    current.timer = Some(timer);
    current.handlers = Some(handlers);
    drop(current);
    promise
}

/// The WebSocket, from the client's constructor or the global one.
fn new_socket(connect: &Connect) -> Result<WebSocket, Failure> {
    let constructor = match &connect.constructor {
        Some(constructor) => constructor.clone(),
        None => Reflect::get(&js_sys::global(), &JsValue::from_str("WebSocket"))
            .ok()
            .and_then(|value| value.dyn_into::<Function>().ok())
            .ok_or_else(|| {
                local(
                    "transport",
                    "this JavaScript runtime has no global WebSocket (Node before 22): pass one \
                     with client.with_websocket(WebSocket), e.g. from the `ws` package"
                        .to_owned(),
                )
            })?,
    };
    let args = js_sys::Array::of1(&JsValue::from_str(&connect.url));
    let socket = Reflect::construct(&constructor, &args).map_err(|e| {
        local(
            "transport",
            format!(
                "cannot open a WebSocket to {}: {}",
                connect.url,
                describe(&e)
            ),
        )
    })?;
    // Not `dyn_into`: a constructor given by the caller (the `ws` package's) makes objects that
    // are not instances of the global WebSocket but have its methods, which is all that is used.
    Ok(socket.unchecked_into())
}

fn handlers(state: &Rc<RefCell<State>>, request: String, timeout_ms: u32) -> Handlers {
    let on_open = {
        let state = state.clone();
        Closure::new(move || {
            let socket = state.borrow().socket.clone();
            if let Err(e) = socket.send_with_str(&request) {
                let message = format!("cannot send the subscription: {}", describe(&e));
                fail(&state, local("transport", message));
            }
        })
    };
    let on_message = {
        let state = state.clone();
        Closure::new(move |event: JsValue| on_message(&state, &event))
    };
    let on_error = {
        let state = state.clone();
        Closure::new(move |event: JsValue| {
            // Browsers say nothing about the cause; the `ws` package gives a message.
            let message = Reflect::get(&event, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string());
            state.borrow_mut().last_error = message;
        })
    };
    let on_close = {
        let state = state.clone();
        Closure::new(move |event: JsValue| on_close(&state, &event))
    };
    let on_timeout = {
        let state = state.clone();
        Closure::new(move || {
            state.borrow_mut().timer = None;
            let message =
                format!("the supervisor did not accept the subscription within {timeout_ms} ms");
            fail(&state, local("transport", message));
        })
    };
    Handlers {
        _open: on_open,
        _message: on_message,
        _error: on_error,
        _close: on_close,
        _timeout: on_timeout,
    }
}

/// One message from the server. Anything that is not the answer to the subscribe request or
/// a notification of this subscription is ignored: the server is trusted to speak JSON-RPC,
/// not to speak it well.
fn on_message(state: &Rc<RefCell<State>>, event: &JsValue) -> Result<(), JsValue> {
    let Some(text) = get(event, "data").as_string() else {
        return Ok(());
    };
    let Ok(message) = JSON::parse(&text) else {
        return Ok(());
    };
    if !message.is_object() {
        return Ok(());
    }
    let method = get(&message, "method");
    if method.is_string() {
        let names = state.borrow().names;
        if method.as_string().as_deref() != Some(names.notification) {
            return Ok(());
        }
        let params = get(&message, "params");
        if !params.is_object() || !is_ours(state, &get(&params, "subscription")) {
            return Ok(());
        }
        let error = get(&params, "error");
        if !error.is_undefined() {
            fail(state, server_failure(&error));
            return Ok(());
        }
        return deliver(state, get(&params, "result"));
    }
    if get(&message, "id").as_f64() == Some(f64::from(SUBSCRIBE_ID)) {
        answered(state, &message);
    }
    Ok(())
}

/// Whether `id` is this subscription's, once the server gave it.
fn is_ours(state: &Rc<RefCell<State>>, id: &JsValue) -> bool {
    let current = state.borrow();
    matches!(current.phase, Phase::Open) && current.id == *id
}

/// The server's answer to the subscribe request: the subscription id, or the refusal.
fn answered(state: &Rc<RefCell<State>>, message: &JsValue) {
    if !matches!(state.borrow().phase, Phase::Opening { .. }) {
        // Ended meanwhile (timed out), or a second answer with the same id.
        return;
    }
    let error = get(message, "error");
    if !error.is_undefined() {
        fail(state, server_failure(&error));
        return;
    }
    let id = get(message, "result");
    if !(id.is_string() || id.as_f64().is_some()) {
        fail(
            state,
            local(
                "invalid_response",
                "the supervisor's answer to the subscription has no subscription id".to_owned(),
            ),
        );
        return;
    }
    let mut current = state.borrow_mut();
    let phase = std::mem::replace(&mut current.phase, Phase::Open);
    let Phase::Opening { resolve, .. } = phase else {
        // Checked above, and nothing ran since.
        current.phase = phase;
        return;
    };
    current.id = id;
    let timer = current.timer.take();
    drop(current);
    if let Some(timer) = timer {
        clear_timeout(&timer);
    }
    let subscription = WasmSubscription {
        state: state.clone(),
    };
    // Resolving a promise runs no JavaScript synchronously, so it cannot fail.
    let _ = resolve.call1(&JsValue::UNDEFINED, &subscription.into());
}

fn on_close(state: &Rc<RefCell<State>>, event: &JsValue) {
    let code = get(event, "code").as_f64().unwrap_or(0.0);
    let reason = get(event, "reason").as_string().unwrap_or_default();
    let mut current = state.borrow_mut();
    current.socket_closed = true;
    let closing = std::mem::take(&mut current.closing);
    let handlers = current.handlers.take();
    // The handlers are about to be freed: a socket that fired an event after its close would
    // call a freed closure.
    current.socket.set_onopen(None);
    current.socket.set_onmessage(None);
    current.socket.set_onerror(None);
    current.socket.set_onclose(None);
    let mut message = match current.phase {
        Phase::Opening { .. } => "the connection to the supervisor closed before it answered",
        _ => "the connection to the supervisor closed",
    }
    .to_owned();
    if let Some(error) = current.last_error.take() {
        message = format!("{message}: {error}");
    }
    drop(current);
    message = format!("{message} (code {code}{})", tail(&reason));
    fail(state, local("transport", message));
    for resolve in closing {
        let _ = resolve.call0(&JsValue::UNDEFINED);
    }
    // The handlers are still running (this is one of them): drop them after it returns.
    wasm_bindgen_futures::spawn_local(async move { drop(handlers) });
}

fn tail(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(", {reason}")
    }
}

/// The failure a JSON-RPC error object from the server stands for.
fn server_failure(error: &JsValue) -> Failure {
    let code = get(error, "code").as_f64().map(|c| c as i32);
    let message = get(error, "message")
        .as_string()
        .unwrap_or_else(|| "the supervisor refused without a message".to_owned());
    match code {
        Some(code) => Failure::from_rpc(code, message),
        None => local("invalid_response", message),
    }
}

/// A thrown JavaScript value as text.
fn describe(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}
