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
    pub(crate) finish: redis::Script,
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
}

impl Scripts {
    pub(crate) fn load() -> Self {
        Self {
            submit: redis::Script::new(include_str!("../lua/submit.lua")),
            submit_many: redis::Script::new(include_str!("../lua/submit_many.lua")),
            start: redis::Script::new(include_str!("../lua/start.lua")),
            claim: redis::Script::new(include_str!("../lua/claim.lua")),
            heartbeat: redis::Script::new(include_str!("../lua/heartbeat.lua")),
            finish: redis::Script::new(include_str!("../lua/finish.lua")),
            progress: redis::Script::new(include_str!("../lua/progress.lua")),
            end: redis::Script::new(include_str!("../lua/end.lua")),
            stop: redis::Script::new(include_str!("../lua/stop.lua")),
            delete: redis::Script::new(include_str!("../lua/delete.lua")),
            expire: redis::Script::new(include_str!("../lua/expire.lua")),
            reap: redis::Script::new(include_str!("../lua/reap.lua")),
            grant: redis::Script::new(include_str!("../lua/grant.lua")),
            schedule_put: redis::Script::new(include_str!("../lua/schedule_put.lua")),
            schedule_delete: redis::Script::new(include_str!("../lua/schedule_delete.lua")),
            tick: redis::Script::new(include_str!("../lua/tick.lua")),
            promote: redis::Script::new(include_str!("../lua/promote.lua")),
            retry: redis::Script::new(include_str!("../lua/retry.lua")),
        }
    }
}

pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
