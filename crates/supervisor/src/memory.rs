//! Gives memory the allocator holds but no longer uses back to the system.
//!
//! A large answer (`jobs.list` of 10,000 jobs builds tens of MiB of records and JSON for a
//! moment) is freed into glibc's per-thread arenas, which keep it: without this, the
//! supervisor's resident memory stays at its largest answer's high-water mark, so a
//! supervisor that once listed 10,000 jobs looks twice the size of one that never did,
//! although the memory it uses is the same (see `docs/benchmarks.md`, "Jobs at scale").
//! Once a second this task reads the resident size, and when it is more than [`GROWTH`]
//! above the lowest it has been, asks glibc to return its free pages (`malloc_trim`).

use std::time::Duration;

use tokio::task::JoinHandle;

/// Time between two looks at the resident size.
const EVERY: Duration = Duration::from_secs(1);

/// Growth of the resident size above what memory in use needs that makes a trim worth its
/// cost (a walk over the allocator's free lists, under its locks, a millisecond or so).
const GROWTH: u64 = 4 << 20;

/// The trimming task, aborted when dropped.
pub(crate) struct Trimmer(JoinHandle<()>);

impl Trimmer {
    /// Starts the task; where the allocator cannot trim or the resident size cannot be read,
    /// it ends at once.
    pub(crate) fn start() -> Self {
        Self(tokio::spawn(async move {
            if !CAN_TRIM {
                return;
            }
            let mut ticks = tokio::time::interval(EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let Some(resident) = resident_bytes() else {
                return;
            };
            let mut policy = Policy::new(resident);
            loop {
                ticks.tick().await;
                let Some(now) = resident_bytes() else { return };
                if !policy.wants_trim(now) {
                    continue;
                }
                // Under the allocator's locks; off the runtime's worker threads.
                let after = tokio::task::spawn_blocking(|| {
                    trim();
                    resident_bytes()
                })
                .await;
                let Ok(Some(after)) = after else { return };
                policy.trimmed(now, after);
            }
        }))
    }
}

impl Drop for Trimmer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// When to trim: when the resident size is more than [`GROWTH`] above the floor, the size
/// memory in use comes back to.
#[derive(Debug)]
struct Policy {
    floor: u64,
}

impl Policy {
    fn new(resident: u64) -> Self {
        Self { floor: resident }
    }

    /// Whether a resident size of `now` is worth a trim.
    fn wants_trim(&mut self, now: u64) -> bool {
        self.floor = self.floor.min(now);
        now > self.floor + GROWTH
    }

    /// A trim took the resident size from `before` to `after`.
    fn trimmed(&mut self, before: u64, after: u64) {
        if before.saturating_sub(after) < GROWTH / 2 {
            // The growth is memory in use, not free pages: count from here, so the next
            // trim waits for new growth instead of repeating for nothing every second.
            self.floor = after;
        }
    }
}

/// The process's resident size in bytes (`VmRSS` in `/proc/self/status`), or `None` where
/// there is no such file.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
const CAN_TRIM: bool = true;

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
const CAN_TRIM: bool = false;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim() {
    // SAFETY: malloc_trim takes no pointer and only releases pages the allocator holds
    // free; glibc documents it as thread-safe (it takes each arena's lock).
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn growth_past_the_threshold_is_trimmed_and_smaller_growth_is_not() {
        let mut policy = Policy::new(12 * MIB);
        assert!(!policy.wants_trim(15 * MIB));
        assert!(policy.wants_trim(30 * MIB));
    }

    #[test]
    fn after_a_trim_that_released_memory_the_next_growth_is_trimmed_too() {
        let mut policy = Policy::new(12 * MIB);
        assert!(policy.wants_trim(45 * MIB));
        // Trimmed while a large answer was still alive: most of it is released later.
        policy.trimmed(45 * MIB, 35 * MIB);
        assert!(policy.wants_trim(27 * MIB));
    }

    #[test]
    fn growth_that_a_trim_cannot_release_is_not_trimmed_again() {
        let mut policy = Policy::new(12 * MIB);
        assert!(policy.wants_trim(40 * MIB));
        policy.trimmed(40 * MIB, 39 * MIB);
        assert!(!policy.wants_trim(40 * MIB));
        assert!(policy.wants_trim(45 * MIB));
    }

    #[test]
    fn the_resident_size_is_read_where_proc_exists() {
        if std::path::Path::new("/proc/self/status").exists() {
            let resident = resident_bytes().expect("/proc/self/status has VmRSS");
            assert!(resident > 0);
        }
    }
}
