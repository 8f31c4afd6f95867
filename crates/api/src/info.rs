//! What `get_supervisor_info` and `GET /health` answer.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The answer of `get_supervisor_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SupervisorInfo {
    /// The supervisor's version.
    pub version: String,
    /// The store and whether it answers.
    pub backend: BackendInfo,
    /// The prefix of every key in the store.
    pub namespace: String,
    /// Seconds since this supervisor started.
    pub uptime_secs: u64,
    /// Local and remote runners, by state (`running`, `stopped`, …).
    pub runners: Counts,
    /// Stored jobs, by status (`queued`, `completed`, …).
    pub jobs: Counts,
}

/// The store a supervisor keeps its jobs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BackendInfo {
    /// `redis` or `embedded`.
    pub kind: String,
    /// Whether it answered just now.
    pub status: BackendStatus,
}

/// Whether the store answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackendStatus {
    /// It answered.
    Ok,
    /// It did not answer, or not in time.
    Unavailable,
}

/// A total and its parts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    /// The sum of `by_status`.
    pub total: u64,
    /// How many are in each state; states with none may be left out.
    pub by_status: BTreeMap<String, u64>,
}

impl Counts {
    /// Counts `(state, n)` pairs, adding up repeated states.
    pub fn from_pairs<S: Into<String>>(pairs: impl IntoIterator<Item = (S, u64)>) -> Self {
        let mut counts = Self::default();
        for (state, n) in pairs {
            counts.total += n;
            *counts.by_status.entry(state.into()).or_default() += n;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_repeated_states() {
        let counts = Counts::from_pairs([("running", 1), ("stopped", 2), ("running", 3)]);
        assert_eq!(counts.total, 6);
        assert_eq!(counts.by_status["running"], 4);
        assert_eq!(counts.by_status["stopped"], 2);
    }

    #[test]
    fn info_has_the_wire_shape() {
        let info = SupervisorInfo {
            version: "1.0.0".into(),
            backend: BackendInfo {
                kind: "redis".into(),
                status: BackendStatus::Ok,
            },
            namespace: "hero".into(),
            uptime_secs: 5,
            runners: Counts::from_pairs([("running", 1)]),
            jobs: Counts::default(),
        };
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            serde_json::json!({
                "version": "1.0.0",
                "backend": {"kind": "redis", "status": "ok"},
                "namespace": "hero",
                "uptime_secs": 5,
                "runners": {"total": 1, "by_status": {"running": 1}},
                "jobs": {"total": 0, "by_status": {}},
            })
        );
    }
}
