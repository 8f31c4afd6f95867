//! The Lua scripts, one per atomic operation (`lua/`), loaded once per store, and the
//! forms their time arguments take.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};

pub(crate) struct Scripts {
    pub(crate) submit: redis::Script,
    pub(crate) submit_many: redis::Script,
    pub(crate) start: redis::Script,
    pub(crate) claim: redis::Script,
    pub(crate) heartbeat: redis::Script,
    pub(crate) finish_many: redis::Script,
    pub(crate) progress: redis::Script,
    pub(crate) end: redis::Script,
    pub(crate) stop: redis::Script,
    pub(crate) delete: redis::Script,
    pub(crate) expire: redis::Script,
    pub(crate) reap: redis::Script,
    pub(crate) grant: redis::Script,
    pub(crate) schedule_put: redis::Script,
    pub(crate) schedule_delete: redis::Script,
    pub(crate) tick: redis::Script,
    pub(crate) promote: redis::Script,
    pub(crate) retry: redis::Script,
    pub(crate) reserve: redis::Script,
    pub(crate) unreserve: redis::Script,
    /// The server's clock in milliseconds, run on the node that holds the key it is given.
    pub(crate) clock: redis::Script,
}

/// A script of `lua/`, with the helpers of `lua/lib.lua` in front of it: Redis runs each
/// script on its own, so what they share travels with each.
macro_rules! script {
    ($name:literal) => {
        redis::Script::new(concat!(
            include_str!("../lua/lib.lua"),
            include_str!(concat!("../lua/", $name, ".lua"))
        ))
    };
}

impl Scripts {
    pub(crate) fn load() -> Self {
        Self {
            submit: script!("submit"),
            submit_many: script!("submit_many"),
            start: script!("start"),
            claim: script!("claim"),
            heartbeat: script!("heartbeat"),
            finish_many: script!("finish_many"),
            progress: script!("progress"),
            end: script!("end"),
            stop: script!("stop"),
            delete: script!("delete"),
            expire: script!("expire"),
            reap: script!("reap"),
            grant: script!("grant"),
            schedule_put: script!("schedule_put"),
            schedule_delete: script!("schedule_delete"),
            tick: script!("tick"),
            promote: script!("promote"),
            retry: script!("retry"),
            reserve: script!("reserve"),
            unreserve: script!("unreserve"),
            clock: redis::Script::new(
                "local t = redis.call('TIME') return t[1] * 1000 + math.floor(t[2] / 1000)",
            ),
        }
    }
}

pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
