//! Where secrets come from besides the config's lists — files and environment variables — and
//! the admin secret generated on first start, kept readable by its owner only.

use std::path::{Path, PathBuf};

use hero_supervisor_api::Secret;

use super::Config;
use crate::error::ConfigError;

impl Config {
    /// Adds the secrets of the `*_secrets_file` files and of the environment variables
    /// `HERO_ADMIN_SECRETS`, `HERO_USER_SECRETS` and `HERO_REGISTER_SECRETS` (comma-separated)
    /// to the configured lists.
    ///
    /// # Errors
    ///
    /// A secrets file cannot be read; the error names the file, never its contents.
    pub fn load_secrets(&mut self) -> Result<(), ConfigError> {
        for (file, env, list) in [
            (
                &self.admin_secrets_file,
                "HERO_ADMIN_SECRETS",
                &mut self.admin_secrets,
            ),
            (
                &self.user_secrets_file,
                "HERO_USER_SECRETS",
                &mut self.user_secrets,
            ),
            (
                &self.register_secrets_file,
                "HERO_REGISTER_SECRETS",
                &mut self.register_secrets,
            ),
        ] {
            if let Some(path) = file {
                let text =
                    std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
                        path: path.clone(),
                        source,
                    })?;
                if others_can_read(path) {
                    tracing::warn!(
                        file = %path.display(),
                        "secrets file is readable by other users; `chmod 600` it"
                    );
                }
                list.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|line| !line.is_empty() && !line.starts_with('#'))
                        .map(Secret::new),
                );
            }
            if let Ok(values) = std::env::var(env) {
                list.extend(
                    values
                        .split(',')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(Secret::new),
                );
            }
        }
        Ok(())
    }

    /// Makes sure the supervisor never serves unauthenticated: with no admin or user secret
    /// configured, uses the admin secret kept in `<data_dir>/admin_secret`, generating it
    /// (mode 0600) on first start. Returns that file's path when it was used.
    ///
    /// # Errors
    ///
    /// The data directory or the secret file cannot be created or read.
    pub fn ensure_admin_secret(&mut self) -> Result<Option<PathBuf>, ConfigError> {
        if !self.admin_secrets.is_empty() || !self.user_secrets.is_empty() {
            return Ok(None);
        }
        let path = self.data_dir().join("admin_secret");
        let io_error = |source| ConfigError::SecretFile {
            path: path.clone(),
            source,
        };
        let kept = match std::fs::read_to_string(&path) {
            Ok(text) => {
                // The file is ours: one loosened by hand (or by an older version) is
                // tightened rather than left for other users to read.
                if others_can_read(&path) {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                        .map_err(io_error)?;
                    tracing::warn!(
                        file = %path.display(),
                        "admin secret file was readable by other users; made it 0600"
                    );
                }
                text.trim().to_owned()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io_error(e)),
        };
        let secret = if kept.is_empty() {
            let fresh = uuid::Uuid::new_v4().simple().to_string();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io_error)?;
            }
            write_private(&path, &fresh).map_err(io_error)?;
            fresh
        } else {
            kept
        };
        self.admin_secrets.push(Secret::new(secret));
        Ok(Some(path))
    }
}

/// Writes `contents` to a file only its owner can read.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::fs::PermissionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` applies only to a file this call creates; one that existed (empty) keeps its
    // own, so it is narrowed before the secret is written into it.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(contents.as_bytes())
}

/// True when users other than the owner (its group, or everyone) may read `path`.
fn others_can_read(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|meta| meta.permissions().mode() & 0o044 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_admin_secret_is_kept_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default_local();
        config.data_dir = Some(dir.path().join("data"));
        let path = config.ensure_admin_secret().unwrap().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut again = Config::default_local();
        again.data_dir = config.data_dir.clone();
        again.ensure_admin_secret().unwrap();
        assert!(again.admin_secrets[0].matches(&config.admin_secrets[0]));
        let mut configured = Config::default_local();
        configured.user_secrets = vec!["u".into()];
        assert_eq!(configured.ensure_admin_secret().unwrap(), None);
    }

    #[test]
    fn a_loosened_admin_secret_file_is_made_private_again() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default_local();
        config.data_dir = Some(dir.path().to_owned());
        let path = config.ensure_admin_secret().unwrap().unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(others_can_read(&path));
        let mut again = Config::default_local();
        again.data_dir = config.data_dir.clone();
        again.ensure_admin_secret().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_secret_is_never_written_into_a_file_others_can_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin_secret");
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut config = Config::default_local();
        config.data_dir = Some(dir.path().to_owned());
        config.ensure_admin_secret().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!std::fs::read_to_string(&path).unwrap().is_empty());
    }

    #[test]
    fn a_secrets_file_readable_by_others_is_noticed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("admins");
        std::fs::write(&file, "s3cret-admin\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(others_can_read(&file));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(!others_can_read(&file));
    }

    #[test]
    fn secrets_come_from_files_too() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users");
        std::fs::write(&file, "# rotated 2026-11\nfirst\n\n  second  \n").unwrap();
        let mut config = Config::default_local();
        config.user_secrets_file = Some(file);
        config.load_secrets().unwrap();
        let users: Vec<&str> = config.user_secrets.iter().map(Secret::expose).collect();
        assert_eq!(users, ["first", "second"]);
        config.admin_secrets_file = Some(dir.path().join("missing"));
        let err = config.load_secrets().unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
    }
}
