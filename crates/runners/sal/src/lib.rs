//! The `sal` runner of Hero Supervisor: job payloads run as Rhai scripts with system
//! functions (files, commands, environment), for trusted operators only. A `sal` script
//! can do anything the runner's OS user can.
//!
//! It is the `osis` engine ([`hero_osis_runner::engine::Script`]: output rules, `sleep`,
//! `ENV`/`env`, JSON helpers, limits, interruption) without the key-value store, plus:
//!
//! - `files`: `read_file`, `write_file`, `append_file`, `list_dir`, `exists`, `remove`,
//!   `mkdir`.
//! - `command`: `run` and `run_with`, without a shell, killed at their timeout or when the
//!   job is interrupted.
//! - `env`: `env_get` and `env_set`, for this job's commands only.
//! - `script`: [`register`] puts these on an engine; [`run`] runs a script with them.
//! - [`executor`]: [`SalExecutor`]; `src/main.rs` is the `sal_runner` binary.
//! - `error`: [`Error`].
//!
//! ```
//! use std::collections::BTreeMap;
//!
//! use hero_osis_runner::Interrupt;
//!
//! let output = hero_sal_runner::run(
//!     r#"run("echo", ["hello"]).stdout"#,
//!     &BTreeMap::new(),
//!     &Interrupt::new(),
//! );
//! assert_eq!(output, Ok("hello\n".to_string()));
//! ```

mod command;
mod env;
mod error;
pub mod executor;
mod files;
mod script;

pub use error::Error;
pub use executor::SalExecutor;
pub use script::{register, run};
