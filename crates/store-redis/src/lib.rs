//! The Redis store of Hero Supervisor.
//!
//! - `keys`: the versioned key layout, one function per key.
//! - `store`: [`RedisStore`], implementing [`hero_store::Store`] with one Lua script per
//!   atomic operation (`lua/`).
//! - `events`: the end-of-job subscription that wakes waiters without polling.
//! - `record`: reading a job hash back into a [`hero_job::JobRecord`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), hero_store::Error> {
//! use hero_store::Store;
//! use hero_store_redis::RedisStore;
//!
//! let store = RedisStore::connect("redis://127.0.0.1:6379", "hero").await?;
//! store.health().await?;
//! # Ok(())
//! # }
//! ```

mod events;
mod keys;
mod record;
mod store;

pub use store::{RedisStore, redact_url};
