//! [`Level`]: the two secret levels that submit jobs, `user` and `admin`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A secret level that may submit jobs, ordered from least to most trusted.
///
/// On a job it is the level of the secret that submitted it (set by the supervisor, never by
/// the client); on a runner, the least level that may use it. A runner whose level is
/// [`Level::Admin`] refuses a job whose level is not.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// User secrets, and jobs stored before jobs carried a level. The default.
    #[default]
    User,
    /// Admin secrets only: for runners with system access.
    Admin,
}

impl Level {
    /// The wire and config name: `user` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    /// The level named `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "user" => Some(Self::User),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Level {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text).ok_or_else(|| format!("`{text}` is not a level: use user or admin"))
    }
}
