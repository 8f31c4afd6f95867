//! The script functions over the [`KvStore`], bound to one job's context:
//! `kv_set`, `kv_get`, `kv_exists`, `kv_delete` and `kv_keys`.
//!
//! Values are any data (see `json`), kept as JSON, so `kv_get` returns what `kv_set` stored.

use rhai::{Array, Dynamic, Engine, EvalAltResult, Position};

use crate::json;
use crate::limits::KV_BYTES;
use crate::store::KvStore;

/// Registers the `kv_*` functions on `engine`, all reading and writing only `context_id`'s
/// entries. `kv_keys` fails when more than `max_keys` keys match.
pub(crate) fn register(engine: &mut Engine, store: &KvStore, context_id: &str, max_keys: usize) {
    let kv = Kv {
        store: store.clone(),
        context: context_id.to_owned(),
        max_keys,
    };
    let this = kv.clone();
    engine.register_fn("kv_set", move |key: &str, value: Dynamic| {
        this.set(key, &value)
    });
    let this = kv.clone();
    engine.register_fn("kv_get", move |key: &str| this.get(key));
    let this = kv.clone();
    engine.register_fn("kv_exists", move |key: &str| this.exists(key));
    let this = kv.clone();
    engine.register_fn("kv_delete", move |key: &str| this.delete(key));
    let this = kv.clone();
    engine.register_fn("kv_keys", move |prefix: &str| this.keys(prefix));
    engine.register_fn("kv_keys", move || kv.keys(""));
}

/// The store as one context sees it.
#[derive(Clone)]
struct Kv {
    store: KvStore,
    context: String,
    max_keys: usize,
}

type ScriptResult<T> = Result<T, Box<EvalAltResult>>;

impl Kv {
    fn set(&self, key: &str, value: &Dynamic) -> ScriptResult<()> {
        let fail = |error: crate::Error| error.in_function("kv_set");
        let text = json::to_json(value).map_err(fail)?;
        match self.store.set(&self.context, key, &text) {
            // A limit, like the others: the script cannot catch it (see `limits`).
            Err(crate::Error::ContextFull { .. }) => {
                Err(EvalAltResult::ErrorDataTooLarge(KV_BYTES.into(), Position::NONE).into())
            }
            result => result.map_err(fail),
        }
    }

    fn get(&self, key: &str) -> ScriptResult<Dynamic> {
        let fail = |error: crate::Error| error.in_function("kv_get");
        match self.store.get(&self.context, key).map_err(fail)? {
            Some(text) => json::from_json(&text).map_err(fail),
            None => Ok(Dynamic::UNIT),
        }
    }

    fn exists(&self, key: &str) -> ScriptResult<bool> {
        let found = self.store.get(&self.context, key);
        Ok(found
            .map_err(|error| error.in_function("kv_exists"))?
            .is_some())
    }

    fn delete(&self, key: &str) -> ScriptResult<bool> {
        let deleted = self.store.delete(&self.context, key);
        deleted.map_err(|error| error.in_function("kv_delete"))
    }

    fn keys(&self, prefix: &str) -> ScriptResult<Array> {
        let keys = self.store.keys(&self.context, prefix, self.max_keys);
        let keys = keys.map_err(|error| error.in_function("kv_keys"))?;
        Ok(keys.into_iter().map(Dynamic::from).collect())
    }
}
