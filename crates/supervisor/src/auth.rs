//! Who may call what: the three secret levels and the one function that decides.

use hero_supervisor_api::Secret;
use hero_supervisor_api::methods::Access;

use crate::error::Error;

/// The level a secret grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Admin,
    User,
    Register,
}

/// The configured secrets of each level.
#[derive(Debug, Clone, Default)]
pub(crate) struct Secrets {
    admin: Vec<Secret>,
    user: Vec<Secret>,
    register: Vec<Secret>,
}

impl Secrets {
    pub(crate) fn new(admin: Vec<Secret>, user: Vec<Secret>, register: Vec<Secret>) -> Self {
        let non_empty = |list: Vec<Secret>| list.into_iter().filter(|s| !s.is_empty()).collect();
        Self {
            admin: non_empty(admin),
            user: non_empty(user),
            register: non_empty(register),
        }
    }

    /// The highest role `secret` grants. Every configured secret is compared, so the time
    /// taken does not tell which list, or whether any, matched.
    fn role_of(&self, secret: &Secret) -> Option<Role> {
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
}

/// Decides whether `secret` may call a method with `access`.
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
) -> Result<(), Error> {
    let allowed: &[Role] = match access {
        Access::Anyone => return Ok(()),
        Access::JobHolder if !reads_need_secret => return Ok(()),
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
        Ok(())
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
        Secrets::new(
            vec!["admin".into()],
            vec!["user".into()],
            vec!["register".into(), "".into()],
        )
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
