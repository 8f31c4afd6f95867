//! [`Error`]: what can go wrong in this crate outside a script's own failures
//! ([`ScriptError`](crate::engine::ScriptError)): limits, JSON and the key-value store.

use std::path::PathBuf;

/// A failure of the runner's configuration, a JSON conversion or the key-value store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A limit variable does not hold a whole number of at least 1.
    #[error("`{name}` is `{value}`; expected a whole number of at least 1")]
    BadLimit {
        /// The environment variable, e.g. `OSIS_MAX_OPERATIONS`.
        name: String,
        /// What it holds.
        value: String,
    },
    /// A value holds something JSON cannot represent, such as a function pointer.
    #[error("a value of type `{type_name}` cannot be converted to JSON")]
    NotJson {
        /// Rhai's name of the type.
        type_name: &'static str,
    },
    /// Text that should be JSON is not.
    #[error("invalid JSON")]
    BadJson {
        /// Where the parser gave up.
        #[source]
        source: serde_json::Error,
    },
    /// The store's directory or file could not be created or opened.
    #[error("cannot open the key-value store at {}", path.display())]
    OpenStore {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<redb::Error>,
    },
    /// A store key is empty.
    #[error("the key is empty")]
    EmptyKey,
    /// A store key is longer than the store allows.
    #[error("the key is {len} bytes, more than the limit of {max}")]
    KeyTooLong {
        /// The key's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A store value, as JSON, is larger than the store allows.
    #[error("the value of `{key}` is {len} bytes as JSON, more than the limit of {max}")]
    ValueTooLarge {
        /// The key it was to be stored under.
        key: String,
        /// The value's length as JSON text.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A write would take a context's entries past the store's quota per context.
    #[error("the context's entries would exceed the limit of {max} bytes")]
    ContextFull {
        /// The quota, in bytes of keys and values.
        max: usize,
    },
    /// A listing matched more keys than a script array may hold.
    #[error("more than {max} keys start with `{prefix}`")]
    TooManyKeys {
        /// The prefix listed.
        prefix: String,
        /// The limit, the script's largest array.
        max: usize,
    },
    /// The database failed to read or write.
    #[error("the key-value store failed")]
    Store {
        /// redb's error.
        #[source]
        source: Box<redb::Error>,
    },
}

impl Error {
    /// The error a script sees when `function` fails this way: the message and its causes.
    pub(crate) fn in_function(&self, function: &str) -> Box<rhai::EvalAltResult> {
        let mut message = format!("{function}: {self}");
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            message.push_str(&format!(": {error}"));
            cause = error.source();
        }
        message.into()
    }
}

/// Wraps any of redb's errors as [`Error::Store`].
pub(crate) fn store(error: impl Into<redb::Error>) -> Error {
    Error::Store {
        source: Box::new(error.into()),
    }
}
