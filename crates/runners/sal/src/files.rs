//! File functions for scripts: `read_file`, `write_file`, `append_file`, `list_dir`,
//! `exists`, `remove` and `mkdir`.
//!
//! Relative paths resolve against the runner's working directory. Nothing is sandboxed:
//! a script reaches every file the runner's OS user can.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use rhai::{Array, Dynamic, Engine, EvalAltResult};

use crate::Error;

/// Registers the file functions; `read_file` refuses files over `max_string_bytes`.
pub(crate) fn register(engine: &mut Engine, max_string_bytes: usize) {
    engine.register_fn("read_file", move |path: &str| {
        script(read_file(Path::new(path), max_string_bytes), "read_file")
    });
    engine.register_fn("write_file", |path: &str, text: &str| {
        script(write_file(Path::new(path), text, false), "write_file")
    });
    engine.register_fn("append_file", |path: &str, text: &str| {
        script(write_file(Path::new(path), text, true), "append_file")
    });
    engine.register_fn("list_dir", |path: &str| {
        script(list_dir(Path::new(path)), "list_dir")
    });
    engine.register_fn("exists", |path: &str| Path::new(path).exists());
    engine.register_fn("remove", |path: &str| {
        script(remove(Path::new(path)), "remove")
    });
    engine.register_fn("mkdir", |path: &str| {
        script(mkdir(Path::new(path)), "mkdir")
    });
}

fn script<T>(result: Result<T, Error>, function: &str) -> Result<T, Box<EvalAltResult>> {
    result.map_err(|error| error.in_function(function))
}

fn file_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::File {
        action,
        path,
        source,
    }
}

/// The file's text (invalid UTF-8 replaced), read no further than the string limit, so
/// an endless file such as `/dev/zero` fails instead of filling memory.
fn read_file(path: &Path, max: usize) -> Result<String, Error> {
    let file = fs::File::open(path).map_err(file_error("read", path))?;
    let mut bytes = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(file_error("read", path))?;
    if bytes.len() > max {
        return Err(Error::FileTooLarge {
            path: path.to_path_buf(),
            max,
        });
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Writes `text` to the file, creating it; replaces the content unless `append`.
fn write_file(path: &Path, text: &str, append: bool) -> Result<(), Error> {
    let action = if append { "append to" } else { "write" };
    let mut file = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(file_error(action, path))?;
    file.write_all(text.as_bytes())
        .map_err(file_error(action, path))
}

/// The names in a directory, sorted.
fn list_dir(path: &Path) -> Result<Array, Error> {
    let mut names = Vec::new();
    for entry in fs::read_dir(path).map_err(file_error("list", path))? {
        let entry = entry.map_err(file_error("list", path))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names.into_iter().map(Dynamic::from).collect())
}

/// Removes a file, a symlink or a directory with everything in it; false when there was
/// nothing to remove.
fn remove(path: &Path) -> Result<bool, Error> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(file_error("remove", path)(error)),
    };
    let removed = if metadata.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    removed.map_err(file_error("remove", path))?;
    Ok(true)
}

/// Creates a directory and any missing parents; fine if it exists.
fn mkdir(path: &Path) -> Result<(), Error> {
    fs::create_dir_all(path).map_err(file_error("create directory", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_append_read() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("notes.txt");
        write_file(&file, "a", false).expect("write");
        write_file(&file, "b", true).expect("append");
        assert_eq!(read_file(&file, 100).expect("read"), "ab");
        write_file(&file, "c", false).expect("overwrite");
        assert_eq!(read_file(&file, 100).expect("read"), "c");
    }

    #[test]
    fn reading_stops_at_the_string_limit() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("big");
        fs::write(&file, "12345").expect("the temp dir is writable");
        assert_eq!(read_file(&file, 5).expect("exactly at the limit"), "12345");
        let error = read_file(&file, 4).expect_err("over the limit");
        assert!(
            matches!(error, Error::FileTooLarge { max: 4, .. }),
            "{error}"
        );
    }

    #[test]
    fn mkdir_list_and_remove() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let nested = dir.path().join("a/b/c");
        mkdir(&nested).expect("mkdir with parents");
        mkdir(&nested).expect("mkdir of an existing directory");
        fs::write(dir.path().join("a/z.txt"), "").expect("the temp dir is writable");
        let names: Vec<String> = list_dir(&dir.path().join("a"))
            .expect("list")
            .into_iter()
            .map(|name| name.to_string())
            .collect();
        assert_eq!(names, ["b", "z.txt"]);
        assert!(remove(&dir.path().join("a")).expect("remove a tree"));
        assert!(!remove(&dir.path().join("a")).expect("remove nothing"));
        assert!(!dir.path().join("a").exists());
    }

    #[test]
    fn errors_name_the_action_and_the_path() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let missing = dir.path().join("missing.txt");
        let message = read_file(&missing, 100)
            .expect_err("no such file")
            .in_function("read_file")
            .to_string();
        let expected = format!("read_file: cannot read `{}`: ", missing.display());
        assert!(message.contains(&expected), "{message}");
    }
}
