//! A log file that rotates by size: `<log>` → `<log>.1` → … → `<log>.N`, the oldest dropped.
//! Every file is readable and writable by its owner only: runners log what their jobs print.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// An append-only file kept under a size cap by rotation.
#[derive(Debug)]
pub(crate) struct RotatingFile {
    path: PathBuf,
    file: File,
    /// Bytes in the current file, tracked here rather than asked of the OS on every write.
    len: u64,
    max_bytes: u64,
    keep: usize,
}

impl RotatingFile {
    /// Opens `path` for appending, creating it and its directory.
    ///
    /// # Errors
    ///
    /// The directory or the file cannot be created or opened.
    pub(crate) fn open(path: &Path, max_bytes: u64, keep: usize) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = append(path)?;
        let len = file.metadata()?.len();
        Ok(Self {
            path: path.to_owned(),
            file,
            len,
            max_bytes,
            keep,
        })
    }

    /// Appends each line with its newline, rotating first whenever a line would pass the cap.
    ///
    /// # Errors
    ///
    /// A write or a rename failed; the lines from there on are lost.
    pub(crate) fn write_lines<'a>(
        &mut self,
        lines: impl IntoIterator<Item = &'a str>,
    ) -> io::Result<()> {
        let mut buffer = Vec::new();
        for line in lines {
            let used = self.len + buffer.len() as u64;
            // A fresh file takes a line even when the line alone passes the cap.
            if used > 0 && used + line.len() as u64 + 1 > self.max_bytes {
                self.flush(&mut buffer)?;
                self.rotate()?;
            }
            buffer.extend_from_slice(line.as_bytes());
            buffer.push(b'\n');
        }
        self.flush(&mut buffer)
    }

    fn flush(&mut self, buffer: &mut Vec<u8>) -> io::Result<()> {
        self.file.write_all(buffer)?;
        self.len += buffer.len() as u64;
        buffer.clear();
        Ok(())
    }

    /// Shifts `<log>.i` to `<log>.i+1`, dropping the oldest, and starts an empty `<log>`.
    fn rotate(&mut self) -> io::Result<()> {
        if self.keep == 0 {
            self.file.set_len(0)?;
            self.len = 0;
            return Ok(());
        }
        for i in (1..self.keep).rev() {
            match std::fs::rename(numbered(&self.path, i), numbered(&self.path, i + 1)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        std::fs::rename(&self.path, numbered(&self.path, 1))?;
        self.file = append(&self.path)?;
        self.len = 0;
        Ok(())
    }
}

/// Opens `path` for appending with mode 0600, also when an earlier version created it wider.
fn append(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(OWNER_ONLY)
        .open(path)?;
    file.set_permissions(Permissions::from_mode(OWNER_ONLY))?;
    Ok(file)
}

const OWNER_ONLY: u32 = 0o600;

/// `<path>.<n>`.
fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn rotates_at_the_cap_and_keeps_n_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/r.log");
        let mut file = RotatingFile::open(&path, 10, 2).unwrap();
        // Each line is 5 bytes with its newline: two per file.
        let lines = ["l001", "l002", "l003", "l004", "l005", "l006", "l007"];
        file.write_lines(lines).unwrap();
        assert_eq!(read(&path), "l007\n");
        assert_eq!(read(&numbered(&path, 1)), "l005\nl006\n");
        assert_eq!(read(&numbered(&path, 2)), "l003\nl004\n");
        assert!(!numbered(&path, 3).exists());
    }

    #[test]
    fn rotation_spans_calls_and_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.log");
        RotatingFile::open(&path, 10, 1)
            .unwrap()
            .write_lines(["l001"])
            .unwrap();
        let mut file = RotatingFile::open(&path, 10, 1).unwrap();
        file.write_lines(["l002"]).unwrap();
        file.write_lines(["l003"]).unwrap();
        assert_eq!(read(&path), "l003\n");
        assert_eq!(read(&numbered(&path, 1)), "l001\nl002\n");
    }

    #[test]
    fn a_line_longer_than_the_cap_gets_a_file_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.log");
        let mut file = RotatingFile::open(&path, 4, 3).unwrap();
        file.write_lines(["a", "longer", "b"]).unwrap();
        assert_eq!(read(&path), "b\n");
        assert_eq!(read(&numbered(&path, 1)), "longer\n");
        assert_eq!(read(&numbered(&path, 2)), "a\n");
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn log_files_and_rotated_files_are_readable_by_their_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.log");
        let mut file = RotatingFile::open(&path, 10, 2).unwrap();
        file.write_lines(["l001", "l002", "l003", "l004", "l005"])
            .unwrap();
        for path in [path.clone(), numbered(&path, 1), numbered(&path, 2)] {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }

    #[test]
    fn a_log_file_left_readable_by_others_is_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.log");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        RotatingFile::open(&path, 10, 2).unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn keeping_no_files_truncates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.log");
        let mut file = RotatingFile::open(&path, 10, 0).unwrap();
        file.write_lines(["l001", "l002", "l003"]).unwrap();
        assert_eq!(read(&path), "l003\n");
        assert!(!numbered(&path, 1).exists());
    }
}
