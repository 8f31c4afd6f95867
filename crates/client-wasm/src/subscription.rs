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
use crate::websocket::{Names, clear_timeout};

/// Items kept for an async iterator that is not reading: past this the subscription ends
/// with kind `lagged` rather than hold memory without bound.
pub(crate) const MAX_UNREAD: usize = 10_000;

/// The JSON-RPC id of the unsubscribe request (the subscribe request's is 1).
const UNSUBSCRIBE_ID: u32 = 2;

/// A live subscription; iterate it with `for await`, or pass a callback when subscribing.
#[wasm_bindgen(skip_typescript)]
#[derive(Debug)]
pub struct WasmSubscription {
    pub(crate) state: Rc<RefCell<State>>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) names: Names,
    pub(crate) socket: WebSocket,
    pub(crate) phase: Phase,
    /// The subscription id the server answered with; `null` until then.
    pub(crate) id: JsValue,
    /// Where items go first; `None` when the caller iterates instead.
    pub(crate) on_item: Option<Function>,
    /// Items no `next()` asked for yet, oldest first; at most [`MAX_UNREAD`].
    pub(crate) unread: VecDeque<JsValue>,
    /// `next()` calls waiting for an item: their promises' resolve and reject.
    pub(crate) readers: VecDeque<(Function, Function)>,
    /// Why the subscription ended, once it has: `Ok` for `close()`, else the error.
    pub(crate) ended: Option<Result<(), JsValue>>,
    /// The `closed` promise's resolve and reject, made when first asked for, so a lost
    /// connection nobody watches is not an unhandled rejection.
    pub(crate) closed: Option<(Promise, Function, Function)>,
    /// `close()` calls waiting for the socket to close.
    pub(crate) closing: Vec<Function>,
    pub(crate) socket_closed: bool,
    /// What the socket's last `error` event said, for the message of the close after it.
    pub(crate) last_error: Option<String>,
    /// The pending timer bounding the wait for the server's answer.
    pub(crate) timer: Option<JsValue>,
    /// The socket's handlers and the timer's: kept alive as long as the socket may call them.
    pub(crate) handlers: Option<Handlers>,
}

#[derive(Debug)]
pub(crate) enum Phase {
    /// Waiting for the answer to the subscribe request: the subscribe promise's settlers.
    Opening {
        resolve: Function,
        reject: Function,
    },
    /// Subscribed under the server's id.
    Open,
    Ended,
}

#[derive(Debug)]
pub(crate) struct Handlers {
    pub(crate) _open: Closure<dyn FnMut()>,
    pub(crate) _message: Closure<dyn FnMut(JsValue) -> Result<(), JsValue>>,
    pub(crate) _error: Closure<dyn FnMut(JsValue)>,
    pub(crate) _close: Closure<dyn FnMut(JsValue)>,
    pub(crate) _timeout: Closure<dyn FnMut()>,
}

/// Hands `item` to the callback, else to a waiting `next()`, else keeps it for the next one.
pub(crate) fn deliver(state: &Rc<RefCell<State>>, item: JsValue) -> Result<(), JsValue> {
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

/// Ends the subscription with `failure` unless it already ended; closes the connection.
pub(crate) fn fail(state: &Rc<RefCell<State>>, failure: Failure) {
    let socket = state.borrow().socket.clone();
    if end(state, Err(error::to_js(failure))) && !state.borrow().socket_closed {
        // Closing an open or opening socket cannot throw; a closed one ignores it.
        let _ = socket.close_with_code(1000);
    }
}

/// Ends the subscription with `outcome` and settles every promise waiting on it; false when it
/// had already ended.
pub(crate) fn end(state: &Rc<RefCell<State>>, outcome: Result<(), JsValue>) -> bool {
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
    /// The id the supervisor gave the subscription, as text (a supervisor of an earlier
    /// version answered a number).
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        let current = self.state.borrow();
        match current.id.as_string() {
            Some(id) => id,
            None => current
                .id
                .as_f64()
                .map(|n| n.to_string())
                .unwrap_or_default(),
        }
    }

    /// Ends the subscription: asks the supervisor to unsubscribe, closes the connection and
    /// resolves once it is closed. Nothing is delivered after the call; calling it again does
    /// nothing more.
    pub fn close(&self) -> Promise {
        let current = self.state.borrow();
        let socket = current.socket.clone();
        let open = current.ended.is_none() && !current.socket_closed;
        let unsubscribe = match current.phase {
            // The id is a JSON number or string as the server sent it, so it stringifies back
            // to the same JSON text.
            Phase::Open => JSON::stringify(&current.id)
                .ok()
                .and_then(|id| id.as_string())
                .map(|id| {
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

pub(crate) fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub(crate) fn local(kind: &'static str, message: String) -> Failure {
    Failure {
        code: None,
        kind,
        message,
        retryable: false,
    }
}
