//! The `[retention]` table: how long finished jobs are kept before the store removes them.

use std::time::Duration;

use serde::Deserialize;

use crate::error::ConfigError;

/// The longest retention accepted, in seconds: 100 years, which keeps jobs for as long as
/// anyone will ask for them, while every deadline stays exact in the store's clock.
pub const MAX_RETENTION_SECS: u64 = 100 * 365 * 86_400;

/// How long a finished job is kept, per final status, counted from its end. Past it, the
/// job is gone: `job.status` and `job.result` answer -32002 and `jobs.list` no longer shows
/// it. Each is 1 s to [`MAX_RETENTION_SECS`]; 0 is refused, since a result removed at once
/// could not be read even by the `job.run` that waited for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    /// Seconds a `completed` job is kept. Default 86,400 (one day).
    pub completed_secs: u64,
    /// Seconds a `failed` job is kept. Default 604,800 (seven days).
    pub failed_secs: u64,
    /// Seconds a `stopped` job is kept. Default 604,800 (seven days).
    pub stopped_secs: u64,
}

impl Default for Retention {
    fn default() -> Self {
        let store = hero_store::Retention::default();
        Self {
            completed_secs: store.completed.as_secs(),
            failed_secs: store.failed.as_secs(),
            stopped_secs: store.stopped.as_secs(),
        }
    }
}

impl Retention {
    /// Refuses a retention of 0 or above [`MAX_RETENTION_SECS`], naming the key.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        for (key, secs) in [
            ("retention.completed_secs", self.completed_secs),
            ("retention.failed_secs", self.failed_secs),
            ("retention.stopped_secs", self.stopped_secs),
        ] {
            if !(1..=MAX_RETENTION_SECS).contains(&secs) {
                return Err(ConfigError::Invalid {
                    key: key.to_owned(),
                    reason: format!("must be 1 to {MAX_RETENTION_SECS} seconds"),
                });
            }
        }
        Ok(())
    }

    /// The form the store takes.
    pub fn to_store(self) -> hero_store::Retention {
        hero_store::Retention {
            completed: Duration::from_secs(self.completed_secs),
            failed: Duration::from_secs(self.failed_secs),
            stopped: Duration::from_secs(self.stopped_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;
    use super::*;

    #[test]
    fn retention_defaults_to_a_day_for_completed_and_a_week_otherwise() {
        let retention = parse("").unwrap().retention;
        assert_eq!(retention.completed_secs, 86_400);
        assert_eq!(retention.failed_secs, 604_800);
        assert_eq!(retention.stopped_secs, 604_800);
        let partial = parse("[retention]\ncompleted_secs = 60").unwrap().retention;
        assert_eq!(partial.completed_secs, 60);
        assert_eq!(partial.failed_secs, 604_800);
    }

    #[test]
    fn retention_refuses_unknown_keys_zero_and_absurd_values() {
        let err = parse("[retention]\ncompleted = 60").unwrap_err();
        assert!(err.contains("completed"), "{err}");
        let zero = parse("[retention]\nfailed_secs = 0").unwrap().retention;
        let err = zero.check().unwrap_err().to_string();
        assert!(err.contains("retention.failed_secs"), "{err}");
        let huge = parse("[retention]\nstopped_secs = 1000000000000")
            .unwrap()
            .retention;
        let err = huge.check().unwrap_err().to_string();
        assert!(err.contains("retention.stopped_secs"), "{err}");
        assert!(parse("[retention]\ncompleted_secs = -1").is_err());
        let most = parse(&format!(
            "[retention]\ncompleted_secs = {MAX_RETENTION_SECS}"
        ));
        assert!(most.unwrap().retention.check().is_ok());
    }
}
