//! Runner processes: start them, watch them, restart them when they crash, stop them with
//! their whole process group, and keep their output.
//!
//! - [`ProcessManager`] (`manager.rs`, `supervise.rs`): the handle to one managed process and
//!   the task that owns it.
//! - [`Backend`] (`backend.rs`): `simple` (`simple.rs`, a child in its own process group) or
//!   `tmux:SESSION` (`tmux.rs`, `tmux/`, a window of that session).
//! - [`Policy`] (`policy.rs`): restart backoff (`backoff.rs`), stop grace, log limits.
//! - [`ProcessStatus`], [`ProcessState`] (`status.rs`): what a process is doing.
//! - Logs (`logs.rs`, `lines.rs`, `rotate.rs`): output cut into lines, written to a rotating
//!   file, kept in an in-memory tail and sent to followers.
//! - [`ProcessSpec`] (`spec.rs`): what to run, with a clean environment; [`Error`]
//!   (`error.rs`): what went wrong.
//!
//! ```
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use hero_process::{Backend, Policy, ProcessManager, ProcessSpec, ProcessState};
//!
//! let dir = tempfile::tempdir()?;
//! let spec = ProcessSpec {
//!     id: "hello".into(),
//!     program: "/bin/sh".into(),
//!     args: vec!["-c".into(), "echo hello; exec sleep 60".into()],
//!     env: vec![],
//!     log_path: dir.path().join("hello.log"),
//! };
//! let runner = ProcessManager::new(spec, Backend::Simple, Policy::default())?;
//! let mut lines = runner.subscribe_logs();
//! runner.start().await?;
//! assert_eq!(runner.status().state, ProcessState::Running);
//! assert_eq!(lines.recv().await?, "hello");
//! runner.stop(false).await?;
//! assert_eq!(runner.status().state, ProcessState::Stopped);
//! # Ok(())
//! # }
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! #     tokio::time::timeout(std::time::Duration::from_secs(30), example()).await.unwrap().unwrap()
//! # });
//! ```

mod backend;
mod backoff;
mod error;
mod lines;
mod logs;
mod manager;
mod policy;
mod rotate;
mod simple;
mod spec;
mod status;
mod supervise;
mod tmux;

pub use backend::Backend;
pub use error::Error;
pub use manager::ProcessManager;
pub use policy::Policy;
pub use simple::SimpleProcess;
pub use spec::{INHERITED_ENV, ProcessSpec};
pub use status::{ProcessState, ProcessStatus};
