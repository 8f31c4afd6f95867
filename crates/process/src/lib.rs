//! Runner processes: start them, watch them, stop them with their whole process group.
//!
//! - [`ProcessSpec`]: what to run and where its output goes.
//! - [`SimpleProcess`]: the `simple` process manager.
//! - [`Error`]: why a process could not be started.

mod error;
mod simple;
mod spec;

pub use error::Error;
pub use simple::SimpleProcess;
pub use spec::ProcessSpec;
