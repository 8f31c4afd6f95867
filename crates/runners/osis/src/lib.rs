//! The `osis` runner of Hero Supervisor: job payloads run as sandboxed Rhai scripts with a
//! persistent key-value store.
//!
//! - [`engine`]: [`Script`](engine::Script), one script run on the sandboxed engine (output,
//!   `sleep`, `ENV`/`env`, JSON helpers), and [`ScriptError`](engine::ScriptError).
//! - `limits`: [`Limits`] on operations, sizes, nesting and output, with clear errors;
//!   `depth` checks the nesting of data, which Rhai does not bound.
//! - `interrupt`: [`Interrupt`], which ends a running script, and `sleep`.
//! - `progress`: [`register_progress`], the script's `progress(percent, message)`.
//! - `output`: the printed lines, capped and logged with the job id.
//! - `json`: [`to_json`] and [`from_json`], for scripts and for stored values.
//! - `store`: [`KvStore`], the redb database at the runner's `db_path`, scoped by context;
//!   `kv` holds the `kv_*` script functions over it.
//! - `pool`: [`ScriptPool`], the long-lived threads scripts run on, and the bridge from a
//!   job's cancellation to its script, which the `sal` runner reuses.
//! - [`executor`]: [`OsisExecutor`], the runner SDK's executor; `src/main.rs` is the
//!   `osis_runner` binary.
//! - `error`: [`Error`].
//!
//! ```
//! use std::collections::BTreeMap;
//!
//! use hero_osis_runner::{Interrupt, engine};
//!
//! let output = engine::run(r#"print("Hello"); 40 + 2"#, &BTreeMap::new(), &Interrupt::new());
//! assert_eq!(output, Ok("Hello\n42".to_string()));
//! ```

mod depth;
pub mod engine;
mod error;
pub mod executor;
mod interrupt;
mod json;
mod kv;
mod limits;
mod output;
mod pool;
mod progress;
mod store;

pub use error::Error;
pub use executor::OsisExecutor;
pub use interrupt::Interrupt;
pub use json::{from_json, to_json};
pub use limits::Limits;
pub use pool::ScriptPool;
pub use progress::register_progress;
pub use store::{DEFAULT_MAX_CONTEXT_BYTES, FILE_NAME, KvStore, MAX_KEY_BYTES, MAX_VALUE_BYTES};
