//! [`KvStore`]: the scripts' persistent key-value store, one redb file per runner process.
//!
//! Entries live in one table keyed by `(context_id, key)`, so a lookup or listing in one
//! context can never reach another's entries. A second table keeps each context's size,
//! updated in the same transaction as its entries, so a quota holds without a scan. Values
//! are JSON text (see `json`); the script functions over this store are in `kv`.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableTable, TableDefinition};

use crate::Error;
use crate::error::store;

/// The database file inside the runner's `db_path`.
pub const FILE_NAME: &str = "store.redb";

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Largest value, in bytes of JSON text.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// Default of [`KvStore::with_max_context_bytes`]: 64 MiB.
pub const DEFAULT_MAX_CONTEXT_BYTES: usize = 64 << 20;

const ENTRIES: TableDefinition<(&str, &str), &str> = TableDefinition::new("entries");

/// Bytes of keys and values per context. A context missing here (a store written before
/// sizes were kept) is measured on its first write.
const SIZES: TableDefinition<&str, u64> = TableDefinition::new("context_sizes");

/// The store of one runner, shared by all its jobs; clones share the open database.
///
/// Every method blocks on disk I/O (writes are durable when they return): call it from a
/// blocking thread, as scripts run.
#[derive(Clone)]
pub struct KvStore {
    /// redb allows one open handle per file, so every job shares this one; it serialises
    /// write transactions itself.
    db: Arc<Database>,
    max_context_bytes: usize,
}

impl std::fmt::Debug for KvStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvStore")
            .field("max_context_bytes", &self.max_context_bytes)
            .finish_non_exhaustive()
    }
}

impl KvStore {
    /// Opens the store in `dir` (file [`FILE_NAME`]), creating the directory and file.
    ///
    /// # Errors
    ///
    /// [`Error::OpenStore`] when the directory cannot be created or the file cannot be
    /// opened, e.g. because another process has it open.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        let path = dir.join(FILE_NAME);
        let open_error = |source: redb::Error| Error::OpenStore {
            path: path.clone(),
            source: Box::new(source),
        };
        std::fs::create_dir_all(dir).map_err(|error| open_error(error.into()))?;
        let db = Database::create(&path).map_err(|error| open_error(error.into()))?;
        // Readers open the table; it must exist before the first write.
        let created = db.begin_write().map_err(|error| open_error(error.into()))?;
        created
            .open_table(ENTRIES)
            .map_err(|error| open_error(error.into()))?;
        created
            .open_table(SIZES)
            .map_err(|error| open_error(error.into()))?;
        created.commit().map_err(|error| open_error(error.into()))?;
        Ok(Self {
            db: Arc::new(db),
            max_context_bytes: DEFAULT_MAX_CONTEXT_BYTES,
        })
    }

    /// The same store, with each context holding at most `max` bytes of keys and values
    /// (JSON text) together; default [`DEFAULT_MAX_CONTEXT_BYTES`]. A write that would take a
    /// context past it fails with [`Error::ContextFull`] and changes nothing; writes that
    /// shrink a context are always allowed.
    #[must_use]
    pub fn with_max_context_bytes(mut self, max: usize) -> Self {
        self.max_context_bytes = max;
        self
    }

    /// As [`open`](Self::open), but while another process holds the file, tries again every
    /// 200 ms for up to `patience`.
    ///
    /// A runner replacing one that is still draining its last jobs (after its supervisor was
    /// killed and restarted) would otherwise exit at once, again and again, until its
    /// supervisor gave up on it as crashing.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open), once `patience` has passed or for any other failure.
    pub fn open_waiting(dir: &Path, patience: std::time::Duration) -> Result<Self, Error> {
        let deadline = std::time::Instant::now() + patience;
        loop {
            match Self::open(dir) {
                Err(Error::OpenStore { source, .. })
                    if matches!(*source, redb::Error::DatabaseAlreadyOpen)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                result => return result,
            }
        }
    }

    /// The value of `key` in `context`, if any.
    ///
    /// # Errors
    ///
    /// A bad key ([`Error::EmptyKey`], [`Error::KeyTooLong`]) or [`Error::Store`].
    pub fn get(&self, context: &str, key: &str) -> Result<Option<String>, Error> {
        check_key(key)?;
        let table = self
            .db
            .begin_read()
            .map_err(store)?
            .open_table(ENTRIES)
            .map_err(store)?;
        let value = table.get((context, key)).map_err(store)?;
        Ok(value.map(|value| value.value().to_owned()))
    }

    /// Stores `value` under `key` in `context`, replacing any value there.
    ///
    /// # Errors
    ///
    /// A bad key, [`Error::ValueTooLarge`], [`Error::ContextFull`] or [`Error::Store`].
    pub fn set(&self, context: &str, key: &str, value: &str) -> Result<(), Error> {
        check_key(key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(Error::ValueTooLarge {
                key: key.to_owned(),
                len: value.len(),
                max: MAX_VALUE_BYTES,
            });
        }
        let write = self.db.begin_write().map_err(store)?;
        {
            let mut entries = write.open_table(ENTRIES).map_err(store)?;
            let mut sizes = write.open_table(SIZES).map_err(store)?;
            let size = context_size(&entries, &sizes, context)?;
            let old = entries.get((context, key)).map_err(store)?;
            let old = old.map_or(0, |old| entry_bytes(key, old.value()));
            let new = size.saturating_sub(old) + entry_bytes(key, value);
            if new > size && new > to_u64(self.max_context_bytes) {
                // Dropping the transaction uncommitted leaves the store as it was.
                return Err(Error::ContextFull {
                    max: self.max_context_bytes,
                });
            }
            entries.insert((context, key), value).map_err(store)?;
            sizes.insert(context, new).map_err(store)?;
        }
        write.commit().map_err(store)
    }

    /// Removes `key` from `context`; true when it was there.
    ///
    /// # Errors
    ///
    /// A bad key or [`Error::Store`].
    pub fn delete(&self, context: &str, key: &str) -> Result<bool, Error> {
        check_key(key)?;
        let write = self.db.begin_write().map_err(store)?;
        let existed = {
            let mut entries = write.open_table(ENTRIES).map_err(store)?;
            let mut sizes = write.open_table(SIZES).map_err(store)?;
            let size = context_size(&entries, &sizes, context)?;
            let removed = entries.remove((context, key)).map_err(store)?;
            let removed = removed.map(|old| entry_bytes(key, old.value()));
            if let Some(bytes) = removed {
                sizes
                    .insert(context, size.saturating_sub(bytes))
                    .map_err(store)?;
            }
            removed.is_some()
        };
        write.commit().map_err(store)?;
        Ok(existed)
    }

    /// Bytes of keys and values `context` holds.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    pub fn context_bytes(&self, context: &str) -> Result<u64, Error> {
        let read = self.db.begin_read().map_err(store)?;
        let sizes = read.open_table(SIZES).map_err(store)?;
        if let Some(size) = sizes.get(context).map_err(store)? {
            return Ok(size.value());
        }
        let entries = read.open_table(ENTRIES).map_err(store)?;
        measure(&entries, context)
    }

    /// The keys of `context` that start with `prefix`, in byte order.
    ///
    /// # Errors
    ///
    /// [`Error::TooManyKeys`] when more than `max` match, or [`Error::Store`].
    pub fn keys(&self, context: &str, prefix: &str, max: usize) -> Result<Vec<String>, Error> {
        let table = self
            .db
            .begin_read()
            .map_err(store)?
            .open_table(ENTRIES)
            .map_err(store)?;
        let mut keys = Vec::new();
        // Keys sort by context, then key, so the matches are one contiguous run.
        for entry in table.range((context, prefix)..).map_err(store)? {
            let (entry_key, _) = entry.map_err(store)?;
            let (entry_context, key) = entry_key.value();
            if entry_context != context || !key.starts_with(prefix) {
                break;
            }
            if keys.len() == max {
                return Err(Error::TooManyKeys {
                    prefix: prefix.to_owned(),
                    max,
                });
            }
            keys.push(key.to_owned());
        }
        Ok(keys)
    }
}

/// The size `context` is recorded at, or measured when it was never recorded.
fn context_size(
    entries: &redb::Table<'_, (&str, &str), &str>,
    sizes: &redb::Table<'_, &str, u64>,
    context: &str,
) -> Result<u64, Error> {
    match sizes.get(context).map_err(store)? {
        Some(size) => Ok(size.value()),
        None => measure(entries, context),
    }
}

/// Adds up the entries of `context`, one pass over its keys.
fn measure(
    entries: &impl ReadableTable<(&'static str, &'static str), &'static str>,
    context: &str,
) -> Result<u64, Error> {
    let mut size = 0;
    // Keys sort by context, then key, so a context's entries are one contiguous run.
    for entry in entries.range((context, "")..).map_err(store)? {
        let (entry_key, value) = entry.map_err(store)?;
        let (entry_context, key) = entry_key.value();
        if entry_context != context {
            break;
        }
        size += entry_bytes(key, value.value());
    }
    Ok(size)
}

fn entry_bytes(key: &str, value: &str) -> u64 {
    to_u64(key.len()) + to_u64(value.len())
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn check_key(key: &str) -> Result<(), Error> {
    if key.is_empty() {
        return Err(Error::EmptyKey);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::KeyTooLong {
            len: key.len(),
            max: MAX_KEY_BYTES,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, KvStore) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = KvStore::open(&dir.path().join("db")).expect("the store opens");
        (dir, store)
    }

    #[test]
    fn set_get_and_delete() {
        let (_dir, store) = open();
        assert_eq!(store.get("c", "k").expect("get"), None);
        store.set("c", "k", "1").expect("set");
        store.set("c", "k", "2").expect("set again");
        assert_eq!(store.get("c", "k").expect("get"), Some("2".to_owned()));
        assert!(store.delete("c", "k").expect("delete"));
        assert!(!store.delete("c", "k").expect("delete again"));
        assert_eq!(store.get("c", "k").expect("get"), None);
    }

    #[test]
    fn contexts_never_see_each_others_entries() {
        let (_dir, store) = open();
        store.set("a", "k", "from a").expect("set");
        store.set("a:b", "k2", "from a:b").expect("set");
        store.set("", "k3", "from the empty context").expect("set");
        assert_eq!(store.get("b", "k").expect("get"), None);
        assert_eq!(store.keys("a", "", 10).expect("keys"), ["k"]);
        assert_eq!(store.keys("a:b", "", 10).expect("keys"), ["k2"]);
        assert_eq!(store.keys("", "", 10).expect("keys"), ["k3"]);
        assert!(!store.delete("b", "k").expect("delete"));
        assert_eq!(store.get("a", "k").expect("get"), Some("from a".to_owned()));
    }

    #[test]
    fn keys_lists_one_prefix_in_order() {
        let (_dir, store) = open();
        for key in ["user:2", "user:1", "users", "usea", "z"] {
            store.set("c", key, "1").expect("set");
        }
        assert_eq!(
            store.keys("c", "user:", 10).expect("keys"),
            ["user:1", "user:2"]
        );
        assert_eq!(
            store.keys("c", "user", 10).expect("keys"),
            ["user:1", "user:2", "users"]
        );
        assert_eq!(
            store.keys("c", "nothing", 10).expect("keys"),
            Vec::<String>::new()
        );
        assert!(matches!(
            store.keys("c", "", 4),
            Err(Error::TooManyKeys { max: 4, .. })
        ));
    }

    #[test]
    fn entries_survive_reopening() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        KvStore::open(dir.path())
            .expect("the store opens")
            .set("c", "k", "kept")
            .expect("set");
        let reopened = KvStore::open(dir.path()).expect("the store opens again");
        assert_eq!(
            reopened.get("c", "k").expect("get"),
            Some("kept".to_owned())
        );
    }

    #[test]
    fn keys_and_values_are_bounded() {
        let (_dir, store) = open();
        assert!(matches!(store.set("c", "", "1"), Err(Error::EmptyKey)));
        let long_key = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(matches!(
            store.get("c", &long_key),
            Err(Error::KeyTooLong {
                len: 1025,
                max: 1024
            })
        ));
        let large_value = "v".repeat(MAX_VALUE_BYTES + 1);
        assert!(matches!(
            store.set("c", "k", &large_value),
            Err(Error::ValueTooLarge { .. })
        ));
    }

    #[test]
    fn a_context_is_bounded_by_its_quota_and_others_are_not() {
        let (_dir, store) = open();
        let store = store.with_max_context_bytes(20);
        store.set("a", "k1", "0123456789").expect("12 bytes fit");
        assert!(matches!(
            store.set("a", "k2", "0123456789"),
            Err(Error::ContextFull { max: 20 })
        ));
        assert_eq!(store.get("a", "k2").expect("get"), None, "nothing written");
        assert_eq!(store.context_bytes("a").expect("size"), 12);
        store.set("b", "k2", "0123456789").expect("another context");
        store
            .set("a", "k1", "012")
            .expect("a smaller value replaces the old");
        store.set("a", "k2", "0123").expect("room was freed");
        assert_eq!(store.context_bytes("a").expect("size"), 11);
        assert!(store.delete("a", "k1").expect("delete"));
        assert_eq!(store.context_bytes("a").expect("size"), 6);
    }

    #[test]
    fn a_write_that_shrinks_an_overfull_context_is_allowed() {
        let (_dir, store) = open();
        store.set("a", "k", &"v".repeat(100)).expect("no quota yet");
        let store = store.with_max_context_bytes(10);
        store.set("a", "k", "v").expect("shrinks the context");
        assert_eq!(store.context_bytes("a").expect("size"), 2);
    }

    #[test]
    fn an_open_waits_for_the_file_to_be_released() {
        let (dir, store) = open();
        let path = dir.path().join("db");
        let holder = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(store);
        });
        let reopened = KvStore::open_waiting(&path, std::time::Duration::from_secs(30));
        holder.join().unwrap();
        assert!(reopened.is_ok(), "{:?}", reopened.err());
        let error = KvStore::open_waiting(&path, std::time::Duration::ZERO)
            .expect_err("held by `reopened`");
        assert!(error.to_string().contains("cannot open"), "{error}");
    }

    #[test]
    fn a_second_open_of_the_same_file_fails_clearly() {
        let (dir, _store) = open();
        let error = KvStore::open(&dir.path().join("db")).expect_err("the file is in use");
        assert!(
            error
                .to_string()
                .contains("cannot open the key-value store at"),
            "{error}"
        );
    }
}
