//! The `osis` runner of Hero Supervisor: job payloads run as sandboxed Rhai scripts.
//!
//! - [`engine`]: the sandboxed engine, script output, `sleep`, `ENV`/`env` and interruption.
//! - [`executor`]: [`OsisExecutor`](executor::OsisExecutor), the runner SDK's executor over
//!   the engine; `src/main.rs` is the `osis_runner` binary around it.
//!
//! ```
//! use std::collections::BTreeMap;
//!
//! use hero_osis_runner::engine::{self, Interrupt};
//!
//! let output = engine::run(r#"print("Hello"); 40 + 2"#, &BTreeMap::new(), &Interrupt::new());
//! assert_eq!(output, Ok("Hello\n42".to_string()));
//! ```

#![warn(missing_docs)]

pub mod engine;
pub mod executor;
