//! `durability` and `durability_timeout_ms`: when a submit is acknowledged.

use std::time::Duration;

use serde::Deserialize;

use crate::error::ConfigError;

/// The longest `durability_timeout_ms` accepted: a minute, beyond which a caller has long
/// given up on its submit.
pub const MAX_DURABILITY_TIMEOUT_MS: u64 = 60_000;

/// When a submit (`jobs.create`, `jobs.create_many`, `job.run`, `job.start`) is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Once Redis' master has the job. Redis replicates asynchronously, so a failover may
    /// lose the last jobs acknowledged before it.
    #[default]
    Async,
    /// Once one replica has it too (Redis' `WAIT 1`). When none confirms within
    /// `durability_timeout_ms`, the call fails with -32004 and the job may exist all the same.
    Replicated,
}

pub(super) fn default_timeout_ms() -> u64 {
    1000
}

/// Refuses `replicated` without a Redis, and a timeout of 0 or above
/// [`MAX_DURABILITY_TIMEOUT_MS`].
pub(super) fn check(
    durability: Durability,
    timeout_ms: u64,
    has_redis: bool,
) -> Result<(), ConfigError> {
    if durability == Durability::Replicated && !has_redis {
        return Err(ConfigError::Invalid {
            key: "durability".to_owned(),
            reason: "`replicated` needs a `redis_url`: the embedded store has no replicas".into(),
        });
    }
    if !(1..=MAX_DURABILITY_TIMEOUT_MS).contains(&timeout_ms) {
        return Err(ConfigError::Invalid {
            key: "durability_timeout_ms".to_owned(),
            reason: format!("must be 1 to {MAX_DURABILITY_TIMEOUT_MS} milliseconds"),
        });
    }
    Ok(())
}

/// The form the Redis store takes.
pub(crate) fn to_store(durability: Durability, timeout_ms: u64) -> hero_store_redis::Durability {
    match durability {
        Durability::Async => hero_store_redis::Durability::Async,
        Durability::Replicated => hero_store_redis::Durability::Replicated {
            timeout: Duration::from_millis(timeout_ms),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicated_needs_redis_and_a_timeout_within_bounds() {
        assert!(check(Durability::Async, 1000, false).is_ok());
        assert!(check(Durability::Replicated, 1000, true).is_ok());
        let no_redis = check(Durability::Replicated, 1000, false).unwrap_err();
        assert!(no_redis.to_string().contains("durability"), "{no_redis}");
        for ms in [0, MAX_DURABILITY_TIMEOUT_MS + 1] {
            let err = check(Durability::Replicated, ms, true).unwrap_err();
            assert!(err.to_string().contains("durability_timeout_ms"), "{err}");
        }
    }
}
