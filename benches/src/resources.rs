//! What a workload costs the processes that serve it: CPU time from `/proc/PID/stat` (user
//! plus system, all threads) and resident memory from `/proc/PID/status`, read before and
//! after a drain, per job.

use std::time::Duration;

use anyhow::Context;

/// Clock ticks per second of `/proc/PID/stat`'s times: the kernel's `USER_HZ`, fixed at 100
/// on every Linux architecture this bench builds for (x86, ARM), whatever the kernel's own
/// tick rate.
const USER_HZ: u64 = 100;

/// The CPU time a `/proc/PID/stat` tick stands for, the resolution of every CPU figure.
pub(crate) const TICK: Duration = Duration::from_millis(1_000 / USER_HZ);

/// One reading of a process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sample {
    /// User plus system time of all its threads so far.
    pub(crate) cpu: Duration,
    /// Resident set size now (`VmRSS`), in KiB.
    pub(crate) rss_kib: u64,
    /// The largest resident set size in its life so far (`VmHWM`), in KiB.
    pub(crate) peak_kib: u64,
}

/// Reads process `pid` now.
///
/// # Errors
///
/// The process is gone or its `/proc` files cannot be read or parsed.
pub(crate) fn sample(pid: u32) -> anyhow::Result<Sample> {
    let stat_path = format!("/proc/{pid}/stat");
    let stat =
        std::fs::read_to_string(&stat_path).with_context(|| format!("reading {stat_path}"))?;
    let cpu = parse_cpu(&stat).with_context(|| format!("no utime/stime in {stat_path}"))?;
    let status_path = format!("/proc/{pid}/status");
    let status =
        std::fs::read_to_string(&status_path).with_context(|| format!("reading {status_path}"))?;
    let (rss_kib, peak_kib) =
        parse_memory(&status).with_context(|| format!("no VmRSS/VmHWM in {status_path}"))?;
    Ok(Sample {
        cpu,
        rss_kib,
        peak_kib,
    })
}

/// Reads every process of `pids` now.
///
/// # Errors
///
/// As [`sample`], for any of them.
pub(crate) fn sample_all(pids: &[u32]) -> anyhow::Result<Vec<Sample>> {
    pids.iter().map(|&pid| sample(pid)).collect()
}

/// What one role (the supervisor, the runners, Redis) spent on a workload.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Usage {
    /// CPU time per job, in microseconds, summed over the role's processes.
    pub(crate) cpu_us_per_job: f64,
    /// The CPU time over all jobs.
    pub(crate) cpu: Duration,
    /// The largest `VmHWM` among the role's processes after the workload, in KiB.
    pub(crate) peak_kib: u64,
    /// How many processes the figures cover.
    pub(crate) processes: usize,
}

impl Usage {
    /// The usage between readings `before` and `after` of the same processes, in the same
    /// order, over `jobs` jobs.
    pub(crate) fn between(before: &[Sample], after: &[Sample], jobs: usize) -> Self {
        let cpu: Duration = before
            .iter()
            .zip(after)
            .map(|(b, a)| a.cpu.saturating_sub(b.cpu))
            .sum();
        Self {
            cpu_us_per_job: cpu.as_secs_f64() * 1e6 / jobs.max(1) as f64,
            cpu,
            peak_kib: after.iter().map(|s| s.peak_kib).max().unwrap_or(0),
            processes: after.len(),
        }
    }
}

/// The CPU figures of one workload, per role.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Costs {
    pub(crate) supervisor: Usage,
    pub(crate) runners: Usage,
    pub(crate) redis: Usage,
    /// The bench itself: its client, and its subscription to the end-of-job channel.
    pub(crate) bench: Usage,
}

/// Readings of every process of a workload at one moment: the supervisor, the runners,
/// Redis, the bench.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    supervisor: Sample,
    runners: Vec<Sample>,
    redis: Sample,
    bench: Sample,
}

/// The processes a workload's figures cover.
#[derive(Debug, Clone)]
pub(crate) struct Pids {
    pub(crate) supervisor: u32,
    pub(crate) runners: Vec<u32>,
    pub(crate) redis: u32,
}

impl Pids {
    /// Reads them all now.
    ///
    /// # Errors
    ///
    /// As [`sample`].
    pub(crate) fn snapshot(&self) -> anyhow::Result<Snapshot> {
        Ok(Snapshot {
            supervisor: sample(self.supervisor).context("the supervisor")?,
            runners: sample_all(&self.runners).context("a runner")?,
            redis: sample(self.redis).context("redis-server")?,
            bench: sample(std::process::id()).context("the bench")?,
        })
    }
}

impl Snapshot {
    /// The costs from `self` to `after` over `jobs` jobs.
    pub(crate) fn costs_to(&self, after: &Self, jobs: usize) -> Costs {
        Costs {
            supervisor: Usage::between(&[self.supervisor], &[after.supervisor], jobs),
            runners: Usage::between(&self.runners, &after.runners, jobs),
            redis: Usage::between(&[self.redis], &[after.redis], jobs),
            bench: Usage::between(&[self.bench], &[after.bench], jobs),
        }
    }
}

/// The pid of the redis-server at `url`, from `INFO server`.
///
/// # Errors
///
/// Redis cannot be reached or its answer has no `process_id`.
pub(crate) async fn redis_pid(url: &str) -> anyhow::Result<u32> {
    let mut conn = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await
        .context("connecting to the bench's redis")?;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut conn)
        .await
        .context("INFO server")?;
    info.lines()
        .find_map(|line| line.strip_prefix("process_id:"))
        .and_then(|pid| pid.trim().parse().ok())
        .context("no process_id in INFO server")
}

/// User plus system time from the text of `/proc/PID/stat`.
fn parse_cpu(stat: &str) -> Option<Duration> {
    // The command name (field 2) is in parentheses and may hold spaces and ')': the fields
    // are counted from the last ')'. After it come state (3), …, utime (14), stime (15).
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = utime.checked_add(stime)?;
    Some(Duration::from_millis(ticks.checked_mul(1_000 / USER_HZ)?))
}

/// `VmRSS` and `VmHWM`, in KiB, from the text of `/proc/PID/status`.
fn parse_memory(status: &str) -> Option<(u64, u64)> {
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_utime_plus_stime_counted_after_the_command_name() {
        // A command name holding spaces and a ')' must not shift the fields.
        let stat = "4242 (tokio-rt (x) y) S 1 4242 4242 0 -1 4194560 1200 0 3 0 \
                    250 37 0 0 20 0 9 0 12345 1000000 2000 18446744073709551615";
        assert_eq!(parse_cpu(stat), Some(Duration::from_millis(2_870)));
        assert_eq!(parse_cpu("4242 (x) S 1 2"), None);
        assert_eq!(parse_cpu("no parenthesis"), None);
    }

    #[test]
    fn memory_is_read_from_the_status_lines() {
        let status = "Name:\tredis-server\nVmPeak:\t  90000 kB\nVmHWM:\t   15360 kB\n\
                      VmRSS:\t   14336 kB\nThreads:\t5\n";
        assert_eq!(parse_memory(status), Some((14_336, 15_360)));
        assert_eq!(parse_memory("Name:\tx\nVmRSS:\t1 kB\n"), None);
    }

    #[test]
    fn usage_sums_cpu_over_processes_and_takes_the_largest_peak() {
        let sample = |ms, peak_kib| Sample {
            cpu: Duration::from_millis(ms),
            rss_kib: 0,
            peak_kib,
        };
        let before = [sample(100, 10), sample(50, 20)];
        let after = [sample(300, 30), sample(150, 25)];

        let usage = Usage::between(&before, &after, 1_000);

        assert_eq!(usage.cpu, Duration::from_millis(300));
        assert!((usage.cpu_us_per_job - 300.0).abs() < 1e-9);
        assert_eq!(usage.peak_kib, 30);
        assert_eq!(usage.processes, 2);
    }

    #[test]
    fn this_process_can_be_read() {
        let me = sample(std::process::id()).expect("reading /proc/self");
        assert!(me.rss_kib > 0 && me.peak_kib >= me.rss_kib);
    }
}
