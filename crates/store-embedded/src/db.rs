//! [`EmbeddedStore`] itself: opening the file, and running each operation as one redb
//! transaction on a blocking thread, then telling waiters and watchers what it changed.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hero_store::{Error, Result};
use redb::{Database, ReadOnlyTable, ReadTransaction, Table, WriteTransaction};

use crate::tables::*;
use crate::watch::{Effects, Signals};

/// A store of jobs, queues, claims, secrets and schedules in one redb file, for a supervisor
/// that runs without Redis.
///
/// Every change is one write transaction committed with redb's default durability (fsync
/// before the call returns), so a change the store acknowledged survives a crash of the
/// process. Clones share the open file. One process at a time: a second process opening the
/// same file is refused.
#[derive(Clone)]
pub struct EmbeddedStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) db: Database,
    /// What wakes blocked claims and waiters and feeds watchers: the store's only processes
    /// are this one, so in-process notifications see every change.
    pub(crate) signals: Signals,
    /// Held from a transaction's commit until its effects are told, so watchers see changes
    /// in the order they were committed (a std mutex: held on a blocking thread, never
    /// across an await).
    told_in_order: std::sync::Mutex<()>,
    pub(crate) path: String,
}

/// The time of one operation: the store's clock, read once per transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    pub(crate) at: DateTime<Utc>,
    pub(crate) ms: i64,
}

impl Now {
    fn read() -> Self {
        let at = Utc::now();
        Self {
            at,
            ms: at.timestamp_millis(),
        }
    }
}

/// Every table, open in one write transaction.
pub(crate) struct Tables<'t> {
    pub(crate) meta: Table<'t, &'static str, &'static str>,
    pub(crate) body: Table<'t, &'static str, &'static str>,
    pub(crate) results: Table<'t, &'static str, &'static str>,
    pub(crate) index: Table<'t, (&'static str, i64, &'static str), ()>,
    pub(crate) numbers: Table<'t, &'static str, u64>,
    pub(crate) queue: Table<'t, (&'static str, u8, i64), &'static str>,
    pub(crate) inflight: Table<'t, (&'static str, &'static str), u64>,
    pub(crate) leases: Table<'t, &'static str, i64>,
    pub(crate) lease_ends: Table<'t, (i64, &'static str), ()>,
    pub(crate) deadlines: Table<'t, (i64, &'static str), ()>,
    pub(crate) expiry: Table<'t, (i64, &'static str), ()>,
    pub(crate) scheduled: Table<'t, (i64, &'static str), ()>,
    pub(crate) runners: Table<'t, &'static str, &'static str>,
    pub(crate) seen: Table<'t, &'static str, i64>,
    pub(crate) secrets: Table<'t, &'static str, &'static str>,
    pub(crate) schedules: Table<'t, &'static str, &'static str>,
    pub(crate) worker_stats: Table<'t, &'static str, &'static str>,
}

impl<'t> Tables<'t> {
    fn open(tx: &'t WriteTransaction) -> Result<Self> {
        Ok(Self {
            meta: tx.open_table(META).map_err(unavailable)?,
            body: tx.open_table(BODY).map_err(unavailable)?,
            results: tx.open_table(RESULTS).map_err(unavailable)?,
            index: tx.open_table(INDEX).map_err(unavailable)?,
            numbers: tx.open_table(NUMBERS).map_err(unavailable)?,
            queue: tx.open_table(QUEUE).map_err(unavailable)?,
            inflight: tx.open_table(INFLIGHT).map_err(unavailable)?,
            leases: tx.open_table(LEASES).map_err(unavailable)?,
            lease_ends: tx.open_table(LEASE_ENDS).map_err(unavailable)?,
            deadlines: tx.open_table(DEADLINES).map_err(unavailable)?,
            expiry: tx.open_table(EXPIRY).map_err(unavailable)?,
            scheduled: tx.open_table(SCHEDULED).map_err(unavailable)?,
            runners: tx.open_table(RUNNERS).map_err(unavailable)?,
            seen: tx.open_table(SEEN).map_err(unavailable)?,
            secrets: tx.open_table(SECRETS).map_err(unavailable)?,
            schedules: tx.open_table(SCHEDULES).map_err(unavailable)?,
            worker_stats: tx.open_table(WORKER_STATS).map_err(unavailable)?,
        })
    }
}

/// The tables reads need, open in one read transaction (a consistent snapshot).
pub(crate) struct ReadTables {
    pub(crate) meta: ReadOnlyTable<&'static str, &'static str>,
    pub(crate) body: ReadOnlyTable<&'static str, &'static str>,
    pub(crate) results: ReadOnlyTable<&'static str, &'static str>,
    pub(crate) index: ReadOnlyTable<(&'static str, i64, &'static str), ()>,
    pub(crate) numbers: ReadOnlyTable<&'static str, u64>,
    pub(crate) runners: ReadOnlyTable<&'static str, &'static str>,
    pub(crate) seen: ReadOnlyTable<&'static str, i64>,
    pub(crate) secrets: ReadOnlyTable<&'static str, &'static str>,
    pub(crate) schedules: ReadOnlyTable<&'static str, &'static str>,
    pub(crate) worker_stats: ReadOnlyTable<&'static str, &'static str>,
}

impl ReadTables {
    fn open(tx: &ReadTransaction) -> Result<Self> {
        Ok(Self {
            meta: tx.open_table(META).map_err(unavailable)?,
            body: tx.open_table(BODY).map_err(unavailable)?,
            results: tx.open_table(RESULTS).map_err(unavailable)?,
            index: tx.open_table(INDEX).map_err(unavailable)?,
            numbers: tx.open_table(NUMBERS).map_err(unavailable)?,
            runners: tx.open_table(RUNNERS).map_err(unavailable)?,
            seen: tx.open_table(SEEN).map_err(unavailable)?,
            secrets: tx.open_table(SECRETS).map_err(unavailable)?,
            schedules: tx.open_table(SCHEDULES).map_err(unavailable)?,
            worker_stats: tx.open_table(WORKER_STATS).map_err(unavailable)?,
        })
    }
}

impl EmbeddedStore {
    /// Opens the store file at `path`, creating it (and nothing else: its directory must
    /// exist) when absent.
    ///
    /// # Errors
    ///
    /// `Unavailable` when the file cannot be opened or created, including when another
    /// process has it open: one process at a time may use a store file.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let shown = path.display().to_string();
        let db = tokio::task::spawn_blocking(move || open_file(&path))
            .await
            .map_err(|e| Error::Unavailable {
                reason: format!("opening the store file: {e}"),
            })??;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                signals: Signals::new(),
                told_in_order: std::sync::Mutex::new(()),
                path: shown,
            }),
        })
    }

    /// Runs `change` in one write transaction on a blocking thread and commits it, then tells
    /// waiters and watchers what it did. An error from `change` commits nothing.
    pub(crate) async fn write<T, F>(&self, change: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tables<'_>, &mut Effects, Now) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let tx = inner.db.begin_write().map_err(unavailable)?;
            let mut effects = Effects::default();
            let value = {
                let mut tables = Tables::open(&tx)?;
                change(&mut tables, &mut effects, Now::read())?
            };
            // Taken while this transaction still excludes every other writer, so the next
            // one cannot commit and tell its changes before these are told.
            let _order = inner
                .told_in_order
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            tx.commit().map_err(unavailable)?;
            inner.signals.apply(effects);
            Ok(value)
        })
        .await
        .map_err(|e| Error::Unavailable {
            reason: format!("store transaction: {e}"),
        })?
    }

    /// Runs `read` on a snapshot of the store on a blocking thread.
    pub(crate) async fn read<T, F>(&self, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTables, Now) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let tx = inner.db.begin_read().map_err(unavailable)?;
            read(&ReadTables::open(&tx)?, Now::read())
        })
        .await
        .map_err(|e| Error::Unavailable {
            reason: format!("store read: {e}"),
        })?
    }

    pub(crate) async fn health(&self) -> Result<()> {
        self.read(|_, _| Ok(()))
            .await
            .map_err(|e| Error::Unavailable {
                reason: format!("{}: {e}", self.inner.path),
            })
    }
}

/// Opens or creates the file and its tables, so every later read finds them.
fn open_file(path: &Path) -> Result<Database> {
    let db = Database::create(path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => Error::Unavailable {
            reason: format!(
                "{} is already open: an embedded store file serves one process at a time, \
                 through one open (clone the store to share it)",
                path.display()
            ),
        },
        other => Error::Unavailable {
            reason: format!("{}: {other}", path.display()),
        },
    })?;
    let tx = db.begin_write().map_err(unavailable)?;
    Tables::open(&tx)?;
    tx.commit().map_err(unavailable)?;
    Ok(db)
}

/// A redb failure as the store's error: the file could not be read or written.
pub(crate) fn unavailable(e: impl std::fmt::Display) -> Error {
    Error::Unavailable {
        reason: format!("embedded store: {e}"),
    }
}

/// `value` as JSON; `key` names it in the error.
pub(crate) fn to_json(key: &str, value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Corrupt {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}
