//! The `[metrics]` table: who may read `GET /metrics`, and how often `metrics.history`
//! takes a sample.

use serde::Deserialize;

use crate::error::ConfigError;

/// The longest interval between two `metrics.history` samples, in seconds: one an hour.
pub const MAX_HISTORY_INTERVAL_SECS: u64 = 3_600;

/// What `GET /metrics` and `metrics.history` do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// When true, `GET /metrics` needs `Authorization: Bearer <an admin secret>` and answers
    /// 401 without one. Default false: anyone who reaches the port may scrape, as is usual
    /// for Prometheus endpoints behind a private network.
    pub require_secret: bool,
    /// Seconds between two `metrics.history` samples, 1 to [`MAX_HISTORY_INTERVAL_SECS`].
    /// Default 10; the history keeps the last 360 samples (an hour at the default).
    pub history_interval_secs: u64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            require_secret: false,
            history_interval_secs: 10,
        }
    }
}

impl MetricsConfig {
    /// Refuses an interval of 0 or above [`MAX_HISTORY_INTERVAL_SECS`], naming the key.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_HISTORY_INTERVAL_SECS).contains(&self.history_interval_secs) {
            return Err(ConfigError::Invalid {
                key: "metrics.history_interval_secs".to_owned(),
                reason: format!("must be 1 to {MAX_HISTORY_INTERVAL_SECS} seconds"),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;

    #[test]
    fn metrics_are_open_by_default_and_sampled_every_ten_seconds() {
        let metrics = parse("").unwrap().metrics;
        assert!(!metrics.require_secret);
        assert_eq!(metrics.history_interval_secs, 10);
        let set = parse("[metrics]\nrequire_secret = true\nhistory_interval_secs = 1")
            .unwrap()
            .metrics;
        assert!(set.require_secret);
        assert_eq!(set.history_interval_secs, 1);
    }

    #[test]
    fn metrics_refuse_unknown_keys_and_a_zero_interval() {
        let err = parse("[metrics]\nsecret = true").unwrap_err();
        assert!(err.contains("secret"), "{err}");
        let zero = parse("[metrics]\nhistory_interval_secs = 0")
            .unwrap()
            .metrics;
        let err = zero.check().unwrap_err().to_string();
        assert!(err.contains("metrics.history_interval_secs"), "{err}");
    }
}
