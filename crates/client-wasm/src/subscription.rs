//! [`WasmSubscription`]: one WebSocket subscription (`runner_logs.subscribe`,
//! `jobs.subscribe`) on a connection of its own. Each notification's `result` goes to the
//! callback given at subscribe time, or waits for the async iterator; `close()` or the end of
//! the connection ends it.
//!
//! Everything runs on the JavaScript thread: the socket's handlers, the iterator and `close()`
//! share one [`State`] behind `Rc<RefCell<…>>`, and no borrow is held while JavaScript code
//! (a callback, a promise's resolve) runs, since that code may call back in.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Function, JSON, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::WebSocket;

use crate::error::{self, Failure};

/// Items kept for an async iterator that is not reading: past this the subscription ends
/// with kind `lagged` rather than hold memory without bound.
pub(crate) const MAX_UNREAD: usize = 10_000;

/// The JSON-RPC ids of the two requests a subscription's connection carries.
const SUBSCRIBE_ID: u32 = 1;
const UNSUBSCRIBE_ID: u32 = 2;

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

/// A live subscription; iterate it with `for await`, or pass a callback when subscribing.
#[wasm_bindgen(skip_typescript)]
#[derive(Debug)]
pub struct WasmSubscription {
    state: Rc<RefCell<State>>,
}

#[derive(Debug)]
struct State {
    names: Names,
    socket: WebSocket,
    phase: Phase,
    /// Where items go first; `None` when the caller iterates instead.
    on_item: Option<Function>,
    /// Items no `next()` asked for yet, oldest first; at most [`MAX_UNREAD`].
    unread: VecDeque<JsValue>,
    /// `next()` calls waiting for an item: their promises' resolve and reject.
    readers: VecDeque<(Function, Function)>,
    /// Why the subscription ended, once it has: `Ok` for `close()`, else the error.
    ended: Option<Result<(), JsValue>>,
    /// The `closed` promise's resolve and reject, made when first asked for, so a lost
    /// connection nobody watches is not an unhandled rejection.
    closed: Option<(Promise, Function, Function)>,
    /// `close()` calls waiting for the socket to close.
    closing: Vec<Function>,
    socket_closed: bool,
    /// What the socket's last `error` event said, for the message of the close after it.
    last_error: Option<String>,
    /// The pending timer bounding the wait for the server's answer.
    timer: Option<JsValue>,
    /// The socket's handlers and the timer's: kept alive as long as the socket may call them.
    handlers: Option<Handlers>,
}

#[derive(Debug)]
enum Phase {
    /// Waiting for the answer to the subscribe request: the subscribe promise's settlers.
    Opening {
        resolve: Function,
        reject: Function,
    },
    /// Subscribed under the server's id.
    Open {
        id: JsValue,
    },
    Ended,
}

#[derive(Debug)]
struct Handlers {
    _open: Closure<dyn FnMut()>,
    _message: Closure<dyn FnMut(JsValue) -> Result<(), JsValue>>,
    _error: Closure<dyn FnMut(JsValue)>,
    _close: Closure<dyn FnMut(JsValue)>,
    _timeout: Closure<dyn FnMut()>,
}

#[wasm_bindgen]
extern "C" {
    // The globals, not `window`'s: Node has them and no `window`.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, millis: u32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(timer: &JsValue);
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
    matches!(&state.borrow().phase, Phase::Open { id: ours } if ours == id)
}

/// The server's answer to the subscribe request: the subscription id, or the refusal.
fn answered(state: &Rc<RefCell<State>>, message: &JsValue) {
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
    let timer = current.timer.take();
    let Phase::Opening { resolve, .. } = std::mem::replace(&mut current.phase, Phase::Open { id })
    else {
        // A second answer with the same id: the first one settled the subscription.
        return;
    };
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

/// Hands `item` to the callback, else to a waiting `next()`, else keeps it for the next one.
fn deliver(state: &Rc<RefCell<State>>, item: JsValue) -> Result<(), JsValue> {
    let mut current = state.borrow_mut();
    if current.ended.is_some() {
        return Ok(());
    }
    if let Some(callback) = current.on_item.clone() {
        drop(current);
        // A callback that throws is reported as any event listener's exception is, and the
        // subscription goes on.
        return callback.call1(&JsValue::UNDEFINED, &item).map(drop);
    }
    if let Some((resolve, _)) = current.readers.pop_front() {
        drop(current);
        let _ = resolve.call1(&JsValue::UNDEFINED, &step(item, false));
        return Ok(());
    }
    if current.unread.len() >= MAX_UNREAD {
        drop(current);
        let message = format!(
            "more than {MAX_UNREAD} items were not read: iterate faster or pass a callback"
        );
        fail(state, local("lagged", message));
        return Ok(());
    }
    current.unread.push_back(item);
    Ok(())
}

fn on_close(state: &Rc<RefCell<State>>, event: &JsValue) {
    let code = get(event, "code").as_f64().unwrap_or(0.0);
    let reason = get(event, "reason").as_string().unwrap_or_default();
    let mut current = state.borrow_mut();
    current.socket_closed = true;
    let closing = std::mem::take(&mut current.closing);
    let handlers = current.handlers.take();
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

/// Ends the subscription with `failure` unless it already ended; closes the connection.
fn fail(state: &Rc<RefCell<State>>, failure: Failure) {
    let socket = state.borrow().socket.clone();
    if end(state, Err(error::to_js(failure))) && !state.borrow().socket_closed {
        // Closing an open or opening socket cannot throw; a closed one ignores it.
        let _ = socket.close_with_code(1000);
    }
}

/// Ends the subscription with `outcome` and settles every promise waiting on it; false when it
/// had already ended.
fn end(state: &Rc<RefCell<State>>, outcome: Result<(), JsValue>) -> bool {
    let mut current = state.borrow_mut();
    if current.ended.is_some() {
        return false;
    }
    current.ended = Some(outcome.clone());
    current.on_item = None;
    if outcome.is_ok() {
        current.unread.clear();
    }
    let phase = std::mem::replace(&mut current.phase, Phase::Ended);
    let readers = std::mem::take(&mut current.readers);
    let closed = current.closed.take();
    let timer = current.timer.take();
    drop(current);
    if let Some(timer) = timer {
        clear_timeout(&timer);
    }
    // Settling a promise runs no JavaScript synchronously: the results are ignored.
    let settle = |resolve: &Function, reject: &Function, value: JsValue| match &outcome {
        Ok(()) => {
            let _ = resolve.call1(&JsValue::UNDEFINED, &value);
        }
        Err(e) => {
            let _ = reject.call1(&JsValue::UNDEFINED, e);
        }
    };
    if let Phase::Opening { resolve, reject } = phase {
        settle(&resolve, &reject, JsValue::UNDEFINED);
    }
    for (resolve, reject) in readers {
        settle(&resolve, &reject, step(JsValue::UNDEFINED, true));
    }
    if let Some((_, resolve, reject)) = closed {
        settle(&resolve, &reject, JsValue::UNDEFINED);
    }
    true
}

#[wasm_bindgen]
impl WasmSubscription {
    /// The id the supervisor gave the subscription.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> JsValue {
        match &self.state.borrow().phase {
            Phase::Open { id } => id.clone(),
            _ => JsValue::NULL,
        }
    }

    /// Ends the subscription: asks the supervisor to unsubscribe, closes the connection and
    /// resolves once it is closed. Nothing is delivered after the call; calling it again does
    /// nothing more.
    pub fn close(&self) -> Promise {
        let current = self.state.borrow();
        let socket = current.socket.clone();
        let open = current.ended.is_none() && !current.socket_closed;
        let unsubscribe = match &current.phase {
            // The id is a JSON number or string as the server sent it, so it stringifies back
            // to the same JSON text.
            Phase::Open { id } => JSON::stringify(id).ok().and_then(|id| id.as_string()).map(|id| {
                format!(
                    r#"{{"jsonrpc":"2.0","id":{UNSUBSCRIBE_ID},"method":"{}","params":[{id}]}}"#,
                    current.names.unsubscribe
                )
            }),
            _ => None,
        };
        drop(current);
        if open {
            if let Some(request) = unsubscribe {
                // The close below ends the subscription on the server anyway: the
                // unsubscribe only makes that explicit, so its failure is of no consequence.
                let _ = socket.send_with_str(&request);
            }
            let _ = socket.close_with_code(1000);
        }
        end(&self.state, Ok(()));
        let mut current = self.state.borrow_mut();
        if current.socket_closed {
            return Promise::resolve(&JsValue::UNDEFINED);
        }
        let mut resolver = None;
        let promise = Promise::new(&mut |resolve, _| resolver = Some(resolve));
        current
            .closing
            .push(resolver.expect("a promise's executor runs at once"));
        promise
    }

    /// Settles when the subscription ends: resolves after `close()`, rejects with a
    /// `SupervisorError` when the connection is lost or the supervisor ends it.
    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> Promise {
        let mut current = self.state.borrow_mut();
        match &current.ended {
            Some(Ok(())) => return Promise::resolve(&JsValue::UNDEFINED),
            Some(Err(e)) => return Promise::reject(e),
            None => {}
        }
        if let Some((promise, _, _)) = &current.closed {
            return promise.clone();
        }
        let mut settlers = None;
        let promise = Promise::new(&mut |resolve, reject| settlers = Some((resolve, reject)));
        let (resolve, reject) = settlers.expect("a promise's executor runs at once");
        current.closed = Some((promise.clone(), resolve, reject));
        promise
    }

    /// The async iterator's step: the next item, `done` once closed, or the error that ended
    /// the subscription.
    pub fn next(&self) -> Promise {
        let mut current = self.state.borrow_mut();
        if let Some(item) = current.unread.pop_front() {
            return Promise::resolve(&step(item, false));
        }
        match &current.ended {
            Some(Ok(())) => return Promise::resolve(&step(JsValue::UNDEFINED, true)),
            Some(Err(e)) => return Promise::reject(e),
            None => {}
        }
        let mut settlers = None;
        let promise = Promise::new(&mut |resolve, reject| settlers = Some((resolve, reject)));
        current
            .readers
            .push_back(settlers.expect("a promise's executor runs at once"));
        promise
    }

    /// Called by `for await` when the loop is left early: closes the subscription.
    #[wasm_bindgen(js_name = "return")]
    pub fn return_(&self) -> Promise {
        let closing = wasm_bindgen_futures::JsFuture::from(self.close());
        wasm_bindgen_futures::future_to_promise(async move {
            closing.await?;
            Ok(step(JsValue::UNDEFINED, true))
        })
    }
}

/// An iterator result, `{value, done}`.
fn step(value: JsValue, done: bool) -> JsValue {
    let result = Object::new();
    // Defining properties on a fresh plain object cannot fail.
    let _ = Reflect::set(&result, &JsValue::from_str("value"), &value);
    let _ = Reflect::set(
        &result,
        &JsValue::from_str("done"),
        &JsValue::from_bool(done),
    );
    result.into()
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
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

fn local(kind: &'static str, message: String) -> Failure {
    Failure {
        code: None,
        kind,
        message,
        retryable: false,
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
