//! The outcome of a finished job.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Exactly one of `{"success": output}` or `{"error": message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum JobResult {
    /// The job finished; `success` is its output.
    Success {
        /// What the job produced.
        success: String,
    },
    /// The job failed, timed out, lost its runner or was stopped.
    Error {
        /// Why, in words.
        error: String,
    },
}

impl JobResult {
    /// A successful result with `output`.
    pub fn success(output: impl Into<String>) -> Self {
        Self::Success {
            success: output.into(),
        }
    }

    /// A failed result with `message`.
    pub fn error(message: impl Into<String>) -> Self {
        Self::Error {
            error: message.into(),
        }
    }

    /// True for `{"success": …}`.
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_has_exactly_one_key() {
        let ok = serde_json::to_value(JobResult::success("42")).unwrap();
        assert_eq!(ok, serde_json::json!({"success": "42"}));
        let err = serde_json::to_value(JobResult::error("boom")).unwrap();
        assert_eq!(err, serde_json::json!({"error": "boom"}));
        let back: JobResult = serde_json::from_value(err).unwrap();
        assert_eq!(back, JobResult::error("boom"));
    }
}
