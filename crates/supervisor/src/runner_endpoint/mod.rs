//! The runner endpoint: the store operations a runner needs, served on a Unix socket so
//! runners reach whatever store the supervisor has without reaching it themselves.
//!
//! - this file: the socket (mode 0600, a stale one replaced, removed at shutdown) and the
//!   accept loop;
//! - `connection`: one runner's connection, line-delimited JSON-RPC;
//! - `methods`: each method onto its one store call; `rpc/endpoint.rs` serves the same
//!   calls on the API port.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hero_store::Store;
use tokio::net::UnixListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{ActorTransport, Config};
use crate::error::StartError;

mod connection;
mod methods;

pub(crate) use methods::{Refusal, run};

/// Most runner connections served at once; one more waits until another closes. Each runner
/// process holds one.
const MAX_CONNECTIONS: usize = 1024;

/// How long [`RunnerEndpoint::stop`] waits for requests under way: a claim long-polls for
/// 30 s at most, plus room for its answer.
const DRAIN: Duration = Duration::from_secs(35);

/// How long to pause after a failed `accept` (out of file descriptors, say), so that a
/// persistent failure does not become a busy loop.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// The endpoint while it serves: stop it with [`RunnerEndpoint::stop`].
pub(crate) struct RunnerEndpoint {
    path: PathBuf,
    /// Ends the accept loop and every connection's reading.
    stop: CancellationToken,
    accepting: tokio::task::JoinHandle<()>,
    /// The connections, so a stop can wait for the requests under way to be answered.
    connections: TaskTracker,
}

impl RunnerEndpoint {
    /// Starts the endpoint `config` asks for, if any.
    ///
    /// When another supervisor already serves the default socket (two supervisors on one
    /// host, one data directory, neither configuring `[runner_endpoint] socket`), this one
    /// serves none and says so, unless it needs its own: the socket was configured, or an
    /// actor reaches the store through it.
    ///
    /// # Errors
    ///
    /// [`StartError::RunnerEndpoint`] when the socket cannot be served, see [`Self::start`].
    pub(crate) fn start_configured(
        config: &Config,
        store: &Arc<dyn Store>,
    ) -> Result<Option<Self>, StartError> {
        let Some(path) = config.runner_endpoint.socket_path(&config.data_dir()) else {
            return Ok(None);
        };
        let needed = config.runner_endpoint.socket.is_some()
            || config.actors.iter().any(|actor| {
                actor.transport(config.redis_url.is_some()) == ActorTransport::Supervisor
            });
        match Self::start(&path, store.clone()) {
            Ok(endpoint) => Ok(Some(endpoint)),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && !needed => {
                tracing::warn!(
                    socket = %path.display(),
                    "another supervisor serves runners on this socket; serving no runner socket"
                );
                Ok(None)
            }
            Err(source) => Err(StartError::RunnerEndpoint { path, source }),
        }
    }

    /// Serves `store`'s runner operations on a Unix socket at `path`, readable and writable
    /// by the supervisor's user only.
    ///
    /// A socket file left at `path` by a supervisor that died is replaced.
    ///
    /// # Errors
    ///
    /// The directory cannot be created, `path` holds something other than a socket, another
    /// process still serves on that socket, or it cannot be bound.
    pub(crate) fn start(path: &Path, store: Arc<dyn Store>) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        remove_stale(path)?;
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        // A peer that connected in the moment between bind and chmod is refused by owner.
        let owner = std::fs::metadata(path)?.uid();
        let stop = CancellationToken::new();
        let connections = TaskTracker::new();
        let accepting = tokio::spawn(accept_loop(
            listener,
            store,
            owner,
            stop.clone(),
            connections.clone(),
        ));
        tracing::info!(socket = %path.display(), "serving runners on a Unix socket");
        Ok(Self {
            path: path.to_owned(),
            stop,
            accepting,
            connections,
        })
    }

    /// Stops accepting, stops reading every connection, waits (at most 35 s) for the
    /// requests under way to be answered, and removes the socket file.
    pub(crate) async fn stop(mut self) {
        self.stop.cancel();
        // A loop that panicked has stopped as well.
        let _ = (&mut self.accepting).await;
        self.connections.close();
        if tokio::time::timeout(DRAIN, self.connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("runner requests still under way at shutdown; leaving them");
        }
    }
}

/// Dropped without [`RunnerEndpoint::stop`] (a start that failed later on), the endpoint
/// still stops serving and leaves no socket behind.
impl Drop for RunnerEndpoint {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!(socket = %self.path.display(), error = %e, "cannot remove the runner socket");
        }
    }
}

/// Removes a socket file nobody listens on any more. Anything else at `path` is an error:
/// a live socket belongs to another supervisor, and a regular file is not ours to delete.
fn remove_stale(path: &Path) -> std::io::Result<()> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !metadata.file_type().is_socket() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "the path exists and is not a socket",
        ));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "another process serves runners on this socket",
        )),
        Err(_) => {
            tracing::info!(socket = %path.display(), "replacing a stale runner socket");
            std::fs::remove_file(path)
        }
    }
}

async fn accept_loop(
    listener: UnixListener,
    store: Arc<dyn Store>,
    owner: u32,
    stop: CancellationToken,
    connections: TaskTracker,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = tokio::select! {
            () = stop.cancelled() => return,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let stream = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::debug!(error = %e, "accepting a runner connection failed");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
        };
        match stream.peer_cred() {
            Ok(peer) if peer.uid() == owner => {}
            Ok(peer) => {
                tracing::warn!(
                    uid = peer.uid(),
                    "refused a runner connection from another user"
                );
                continue;
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot tell who connected; refused");
                continue;
            }
        }
        let store = store.clone();
        let stop = stop.clone();
        connections.spawn(async move {
            connection::serve(stream, store, stop).await;
            drop(slot);
        });
    }
}
