//! The RPC surface of Hero Supervisor, declared once and shared by server and clients.
//!
//! - [`methods`]: the method table — names, params in positional order, results, access.
//! - [`params`]: positional or named params → one named map → typed params per method.
//! - [`codes`]: the contract's error codes.
//! - [`Secret`]: a secret that redacts itself and compares in constant time.
//! - [`openrpc`]: the `rpc.discover` document, generated from the table.
//! - [`runner`]: what the runner methods return.
//! - [`schedule`]: what `schedules.create` takes and `schedules.list` returns.
//! - [`info`]: what `get_supervisor_info` and `GET /health` return.
//! - [`metrics`]: what `metrics.history` returns.
//! - [`endpoint`]: the runner endpoint's methods, params and bounds (runners reaching the
//!   store through the supervisor).
//!
//! ```
//! use hero_supervisor_api::{methods, params};
//!
//! let run = methods::find("job.run").expect("job.run is declared");
//! let named = params::named(run, Some(r#"["s3cret", {"payload": "1"}]"#)).unwrap();
//! assert_eq!(named["secret"], "s3cret");
//! ```

pub mod codes;
pub mod endpoint;
pub mod info;
pub mod methods;
pub mod metrics;
pub mod openrpc;
pub mod params;
pub mod runner;
pub mod schedule;
mod secret;

pub use secret::Secret;
