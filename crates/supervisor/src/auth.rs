//! Who may call what: the three secret levels and the one function that decides.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use hero_store::Store;
use hero_supervisor_api::Secret;
use hero_supervisor_api::methods::Access;
use tokio::sync::watch;

use crate::error::Error;

/// The level a secret grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Admin,
    User,
    Register,
}

impl Role {
    /// The wire name: `admin`, `user`, `register`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
            Self::Register => "register",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Self::Admin),
            "user" => Some(Self::User),
            "register" => Some(Self::Register),
            _ => None,
        }
    }
}

/// A grant recorded in the store at run time, by the secret's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    Role(Role),
    Revoked,
}

/// The grant value that revokes a secret in the store.
pub(crate) const REVOKED: &str = "revoked";

/// The oldest a supervisor's copy of the store's grants may be when it decides a call.
/// Changes are announced over pub/sub and apply from the next call; this bounds how long a
/// lost announcement (a dropped subscription, a grant written by another tool) can leave a
/// revoked secret working here.
pub(crate) const GRANTS_MAX_AGE: Duration = Duration::from_secs(3);

/// How soon a store that could not be read for grants is asked again.
const RELOAD_RETRY: Duration = Duration::from_secs(1);

/// Who is calling: the level its secret grants, and the secret's hash, which is what owns
/// the jobs it creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    pub(crate) role: Role,
    pub(crate) hash: String,
}

impl Caller {
    /// True when this caller may see and manage a job owned by `owner`: admins every job,
    /// others only their own.
    pub(crate) fn owns(&self, owner: Option<&str>) -> bool {
        self.role == Role::Admin || owner == Some(self.hash.as_str())
    }

    /// The owner a job must have for this caller to manage it, for the store to check in the
    /// same step as the change: `None` for an admin (any job), the caller's own hash otherwise.
    pub(crate) fn required_owner(&self) -> Option<&str> {
        (self.role != Role::Admin).then_some(self.hash.as_str())
    }

    /// The level this caller's jobs carry, which runners check again before executing them.
    pub(crate) fn level(&self) -> hero_job::Level {
        if self.role == Role::Admin {
            hero_job::Level::Admin
        } else {
            hero_job::Level::User
        }
    }
}

/// The secrets of each level: those of the config, and those granted or revoked at run time
/// through the store (`add_secret`, `remove_secret`), which win over the config.
pub(crate) struct Secrets {
    admin: Vec<Secret>,
    user: Vec<Secret>,
    register: Vec<Secret>,
    /// The store's grants as last loaded, by SHA-256 (hex) of the secret.
    grants: RwLock<HashMap<String, Grant>>,
    /// Changes whenever any supervisor sharing the store changes a grant.
    changes: watch::Receiver<u64>,
    /// The `changes` value `grants` was loaded at.
    loaded: AtomicU64,
    /// When `grants` was last loaded, so it is reloaded once older than [`GRANTS_MAX_AGE`].
    loaded_at: Mutex<Instant>,
    /// Set when this supervisor changed a grant: its next call reloads without waiting for
    /// the announcement, which reaches this process too, but not necessarily first.
    stale: AtomicBool,
}

impl Secrets {
    /// The config's secrets, plus the store's grants, kept current from then on.
    pub(crate) async fn load(
        admin: Vec<Secret>,
        user: Vec<Secret>,
        register: Vec<Secret>,
        store: &dyn Store,
    ) -> Result<Self, hero_store::Error> {
        let non_empty = |list: Vec<Secret>| list.into_iter().filter(|s| !s.is_empty()).collect();
        let changes = store.watch_secrets().await?;
        let generation = *changes.borrow();
        let secrets = Self {
            admin: non_empty(admin),
            user: non_empty(user),
            register: non_empty(register),
            grants: RwLock::default(),
            loaded: AtomicU64::new(generation),
            loaded_at: Mutex::new(Instant::now()),
            stale: AtomicBool::new(false),
            changes,
        };
        secrets.reload(store).await?;
        Ok(secrets)
    }

    /// Reloads the store's grants if any changed since the last load, or if the last load
    /// is older than [`GRANTS_MAX_AGE`].
    ///
    /// A store that cannot be read leaves the grants last loaded in force, revocations
    /// included, and is asked again after [`RELOAD_RETRY`]: the calls that need no store (an
    /// admin's runner methods on local actors) keep working through an outage.
    pub(crate) async fn refresh(&self, store: &dyn Store) {
        let current = *self.changes.borrow();
        let fresh = self
            .loaded_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
            < GRANTS_MAX_AGE;
        let stale = self.stale.swap(false, Ordering::AcqRel);
        if current == self.loaded.load(Ordering::Acquire) && fresh && !stale {
            return;
        }
        match self.reload(store).await {
            Ok(()) => self.loaded.store(current, Ordering::Release),
            Err(e) => {
                tracing::warn!(error = %e, "cannot reload secret grants; the last ones loaded stay in force");
                // Marked as loaded long enough ago to be asked again after RELOAD_RETRY, so
                // calls during an outage do not each wait for the store to time out.
                let retry_at = Instant::now()
                    .checked_sub(GRANTS_MAX_AGE.saturating_sub(RELOAD_RETRY))
                    .unwrap_or_else(Instant::now);
                *self
                    .loaded_at
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = retry_at;
                self.loaded.store(current, Ordering::Release);
            }
        }
    }

    async fn reload(&self, store: &dyn Store) -> Result<(), hero_store::Error> {
        let grants = store
            .secret_grants()
            .await?
            .into_iter()
            .filter_map(|(hash, grant)| {
                let grant = match grant.as_str() {
                    REVOKED => Grant::Revoked,
                    role => Grant::Role(Role::parse(role)?),
                };
                Some((hash, grant))
            })
            .collect();
        *self.grants.write().unwrap_or_else(PoisonError::into_inner) = grants;
        *self
            .loaded_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        Ok(())
    }

    /// The role `secret` grants now. The config's secrets are all compared in constant
    /// time, so the time taken does not tell which list, or whether any, matched; the store's
    /// grants are looked up by the secret's hash.
    pub(crate) fn role_of(&self, secret: &Secret) -> Option<Role> {
        let hash = hash(secret);
        if let Some(grant) = self
            .grants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&hash)
        {
            return match grant {
                Grant::Role(role) => Some(*role),
                Grant::Revoked => None,
            };
        }
        let mut role = None;
        for (list, granted) in [
            (&self.register, Role::Register),
            (&self.user, Role::User),
            (&self.admin, Role::Admin),
        ] {
            for known in list {
                if known.matches(secret) {
                    role = Some(granted);
                }
            }
        }
        role
    }

    /// False when the store's grants revoked the secret hashed `hash`, or left it below
    /// `level`: the owner of a schedule that may no longer submit its jobs. A hash without a
    /// grant is taken as allowed: it may be a secret of another supervisor's config.
    pub(crate) fn grant_allows(&self, hash: &str, level: hero_job::Level) -> bool {
        match self
            .grants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(hash)
        {
            None => true,
            Some(Grant::Revoked) => false,
            Some(Grant::Role(role)) => match level {
                hero_job::Level::Admin => *role == Role::Admin,
                hero_job::Level::User => matches!(role, Role::User | Role::Admin),
            },
        }
    }

    /// Makes the next [`refresh`](Self::refresh) reload: for a change this supervisor just
    /// made, so that its own next call sees it.
    pub(crate) fn mark_stale(&self) {
        self.stale.store(true, Ordering::Release);
    }

    /// The hashes of the config's admin secrets, for the store's last-admin check.
    pub(crate) fn config_admins(&self) -> Vec<String> {
        self.admin.iter().map(hash).collect()
    }
}

/// SHA-256 of the secret, in hex: what the store keeps instead of the secret.
pub(crate) fn hash(secret: &Secret) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(secret.expose().as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Decides whether `secret` may call a method with `access`, and returns who calls when a
/// secret was checked (`None` for methods open to anyone, or to job holders).
///
/// `reads_need_secret` is the `require_secret_for_reads` switch for job-holder methods.
///
/// # Errors
///
/// [`Error::Unauthorized`] saying whether the secret was missing, unknown or insufficient.
pub(crate) fn authorize(
    secrets: &Secrets,
    access: Access,
    secret: Option<&Secret>,
    reads_need_secret: bool,
) -> Result<Option<Caller>, Error> {
    let allowed: &[Role] = match access {
        Access::Anyone => return Ok(None),
        Access::JobHolder if !reads_need_secret => return Ok(None),
        Access::JobHolder | Access::User => &[Role::User, Role::Admin],
        Access::Register => &[Role::Register, Role::Admin],
        Access::Admin => &[Role::Admin],
    };
    let secret = secret
        .filter(|s| !s.is_empty())
        .ok_or(Error::Unauthorized {
            reason: "a secret is required",
        })?;
    let role = secrets.role_of(secret).ok_or(Error::Unauthorized {
        reason: "unknown secret",
    })?;
    if allowed.contains(&role) {
        Ok(Some(Caller {
            role,
            hash: hash(secret),
        }))
    } else {
        Err(Error::Unauthorized {
            reason: "this secret's level does not allow this method",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        let (_tx, changes) = watch::channel(0);
        Secrets {
            admin: vec!["admin".into()],
            user: vec!["user".into()],
            register: vec!["register".into()],
            grants: RwLock::default(),
            changes,
            loaded: AtomicU64::new(0),
            loaded_at: Mutex::new(Instant::now()),
            stale: AtomicBool::new(false),
        }
    }

    fn allowed(access: Access, secret: Option<&str>) -> bool {
        authorize(&secrets(), access, secret.map(Secret::new).as_ref(), false).is_ok()
    }

    #[test]
    fn the_role_matrix_holds() {
        use Access::*;
        let cases: &[(Access, [bool; 5])] = &[
            //            none   wrong  register user   admin
            (Anyone, [true, true, true, true, true]),
            (JobHolder, [true, true, true, true, true]),
            (User, [false, false, false, true, true]),
            (Register, [false, false, true, false, true]),
            (Admin, [false, false, false, false, true]),
        ];
        let secrets = [
            None,
            Some("wrong"),
            Some("register"),
            Some("user"),
            Some("admin"),
        ];
        for (access, expected) in cases {
            for (secret, expected) in secrets.iter().zip(expected) {
                assert_eq!(
                    allowed(*access, *secret),
                    *expected,
                    "{access:?} with {secret:?}"
                );
            }
        }
    }

    #[test]
    fn grants_win_over_the_config() {
        let secrets = secrets();
        secrets.grants.write().unwrap().extend([
            (hash(&"admin".into()), Grant::Revoked),
            (hash(&"new".into()), Grant::Role(Role::User)),
        ]);
        assert_eq!(secrets.role_of(&"admin".into()), None);
        assert_eq!(secrets.role_of(&"new".into()), Some(Role::User));
    }

    #[test]
    fn an_empty_secret_counts_as_missing() {
        assert!(!allowed(Access::Register, Some("")));
        let err = authorize(&secrets(), Access::User, Some(&Secret::new("")), false).unwrap_err();
        assert!(err.to_string().contains("required"), "{err}");
    }

    #[test]
    fn reads_can_be_made_to_need_a_user_secret() {
        let check = |secret: Option<&str>| {
            authorize(
                &secrets(),
                Access::JobHolder,
                secret.map(Secret::new).as_ref(),
                true,
            )
            .is_ok()
        };
        assert!(!check(None));
        assert!(!check(Some("register")));
        assert!(check(Some("user")));
        assert!(check(Some("admin")));
    }
}
