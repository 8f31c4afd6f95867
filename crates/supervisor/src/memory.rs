//! Gives memory the allocator holds but no longer uses back to the system.
//!
//! A large answer (`jobs.list` of 10,000 jobs builds tens of MiB of records and JSON for a
//! moment) is freed into glibc's arenas, which keep it: without this, the
//! supervisor's resident memory stays at its largest answer's high-water mark, so a
//! supervisor that once listed 10,000 jobs looks twice the size of one that never did,
//! although the memory it uses is the same (see `docs/benchmarks.md`, "Jobs at scale").
//! Once a second this task reads the resident size, and when it is more than [`GROWTH`] above
//! the lowest it has been and has stopped moving, asks glibc to return its free pages
//! (`malloc_trim`).

use std::time::Duration;

use tokio::task::JoinHandle;

/// Time between two looks at the resident size.
const EVERY: Duration = Duration::from_secs(1);

/// Growth of the resident size above its lowest that makes a trim worth its cost:
/// a walk over the allocator's free lists under its lock, 2 to 10 ms with many free chunks,
/// during which other threads wait to allocate.
const GROWTH: u64 = 4 << 20;

/// Change of the resident size between two looks under which the supervisor counts as quiet.
const QUIET: u64 = 1 << 20;

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

/// When to trim: when the resident size is more than [`GROWTH`] above the lowest it has
/// been and stopped moving since the last look, so the trim comes once a burst of work is
/// over. A trim that gives back little found memory in use; the next waits, twice as long
/// after each such trim, up to [`MAX_PAUSE`] looks, unless the size grows by [`GROWTH`] again.
#[derive(Debug)]
struct Policy {
    /// The lowest resident size seen: memory above it was at some point not needed.
    floor: u64,
    /// The resident size at the last look.
    last: u64,
    /// Looks left before trimming may start again.
    pause: u32,
    /// The resident size after the trim that started the pause.
    paused_at: u64,
    /// The pause after the next trim that gives back little.
    next_pause: u32,
}

/// Looks a trim that gave back little waits for, at most.
const MAX_PAUSE: u32 = 300;

impl Policy {
    fn new(resident: u64) -> Self {
        Self {
            floor: resident,
            last: resident,
            pause: 0,
            paused_at: resident,
            next_pause: 2,
        }
    }

    /// Whether a resident size of `now` is worth a trim.
    fn wants_trim(&mut self, now: u64) -> bool {
        let quiet = now.abs_diff(self.last) <= QUIET;
        self.last = now;
        self.floor = self.floor.min(now);
        if self.pause > 0 && now <= self.paused_at + GROWTH {
            self.pause -= 1;
            return false;
        }
        self.pause = 0;
        quiet && now > self.floor + GROWTH
    }

    /// A trim took the resident size from `before` to `after`.
    fn trimmed(&mut self, before: u64, after: u64) {
        self.last = after;
        self.floor = self.floor.min(after);
        if before.saturating_sub(after) >= GROWTH / 2 {
            self.next_pause = 2;
        } else {
            self.pause = self.next_pause;
            self.paused_at = after;
            self.next_pause = (self.next_pause * 2).min(MAX_PAUSE);
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
    fn a_burst_is_trimmed_once_the_resident_size_stops_moving() {
        let mut policy = Policy::new(11 * MIB);
        assert!(!policy.wants_trim(30 * MIB), "still growing");
        assert!(policy.wants_trim(30 * MIB));
    }

    #[test]
    fn growth_under_the_threshold_is_not_trimmed() {
        let mut policy = Policy::new(11 * MIB);
        assert!(!policy.wants_trim(14 * MIB));
        assert!(!policy.wants_trim(14 * MIB));
    }

    #[test]
    fn a_trim_in_the_middle_of_a_burst_is_followed_by_one_after_it() {
        let mut policy = Policy::new(11 * MIB);
        policy.wants_trim(45 * MIB);
        assert!(policy.wants_trim(45 * MIB));
        // The answer being built was still alive: 15 MiB given back, 30 MiB left.
        policy.trimmed(45 * MIB, 30 * MIB);
        assert!(policy.wants_trim(30 * MIB));
    }

    #[test]
    fn memory_in_use_is_trimmed_for_less_and_less_often() {
        let mut policy = Policy::new(11 * MIB);
        policy.wants_trim(30 * MIB);
        let mut trims = Vec::new();
        for look in 0..40 {
            if policy.wants_trim(30 * MIB) {
                trims.push(look);
                policy.trimmed(30 * MIB, 29 * MIB);
            }
        }
        assert_eq!(trims, [0, 3, 8, 17, 34]);
    }

    #[test]
    fn new_growth_ends_a_pause() {
        let mut policy = Policy::new(11 * MIB);
        policy.wants_trim(30 * MIB);
        assert!(policy.wants_trim(30 * MIB));
        policy.trimmed(30 * MIB, 29 * MIB);
        assert!(!policy.wants_trim(30 * MIB), "paused");
        policy.wants_trim(45 * MIB);
        assert!(policy.wants_trim(45 * MIB), "45 MiB is new growth");
    }

    #[test]
    fn the_resident_size_is_read_where_proc_exists() {
        if std::path::Path::new("/proc/self/status").exists() {
            let resident = resident_bytes().expect("/proc/self/status has VmRSS");
            assert!(resident > 0);
        }
    }
}
