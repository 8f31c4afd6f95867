//! [`Progress`]: how far a running job says it is.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Longest progress message kept, in bytes; a longer one is cut on a character boundary.
pub const MAX_PROGRESS_MESSAGE_BYTES: usize = 1024;

/// The latest progress a running job reported: `job.status` carries it as `progress`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Progress {
    /// How far the job is, 0 to 100.
    pub percent: u8,
    /// What the job is doing, at most [`MAX_PROGRESS_MESSAGE_BYTES`] bytes.
    pub message: String,
}

impl Progress {
    /// Progress at `percent` (above 100 counts as 100) with `message`, cut to
    /// [`MAX_PROGRESS_MESSAGE_BYTES`] on a character boundary.
    pub fn new(percent: u8, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.len() > MAX_PROGRESS_MESSAGE_BYTES {
            let mut end = MAX_PROGRESS_MESSAGE_BYTES;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        Self {
            percent: percent.min(100),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percent_above_100_is_clamped_to_100() {
        assert_eq!(Progress::new(250, "x").percent, 100);
        assert_eq!(Progress::new(100, "x").percent, 100);
        assert_eq!(Progress::new(0, "x").percent, 0);
    }

    #[test]
    fn a_long_message_is_cut_on_a_character_boundary() {
        // 'é' is two bytes: 1023 bytes of 'a' then 'é' straddles the limit.
        let message = format!("{}é tail", "a".repeat(MAX_PROGRESS_MESSAGE_BYTES - 1));
        let progress = Progress::new(5, message);
        assert_eq!(progress.message, "a".repeat(MAX_PROGRESS_MESSAGE_BYTES - 1));
        let short = Progress::new(5, "half way é");
        assert_eq!(short.message, "half way é");
    }
}
