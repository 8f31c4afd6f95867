//! The printed figures of the scale workload: each at both store sizes, and the larger as a
//! ratio to the smaller.

use crate::latency::millis;

use super::process::Memory;
use super::{LAYOUT, Scale, Snapshot};

/// How far the supervisor's memory may move between the two sizes and still count as flat.
const FLAT: f64 = 0.10;

/// Prints the figures to stdout.
pub(crate) fn print(scale: &Scale, supervisor_binary: &std::path::Path) {
    let (base, big) = (&scale.baseline, &scale.scaled);
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "\nJOBS AT SCALE ({}, {cores} cores, private redis-server, no persistence)",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    println!(
        "  supervisor: {} (its own process); jobs ended by mock_runner {LAYOUT};\n  \
         mix: 98 % completed, 1 % failed (executor refused), 1 % queued on a queue no runner takes",
        supervisor_binary.display()
    );
    print_memory(scale);
    print_redis(scale);
    print_latency(base, big);
}

/// A table's heading: what it shows, then the two sizes.
fn header(what: &str, base: &Snapshot, big: &Snapshot) {
    println!(
        "\n  {what:<44} {:>16} {:>16} {:>8}",
        format!("{} jobs", thousands(base.stored)),
        format!("{} jobs", thousands(big.stored)),
        "ratio"
    );
}

fn print_memory(scale: &Scale) {
    let (base, big) = (&scale.baseline, &scale.scaled);
    header("supervisor memory (MiB)", base, big);
    println!(
        "  {:<44} {:>16.1}",
        "VmRSS once started, no job",
        mib(scale.started.rss_kib)
    );
    let memory_row = |what: &str, pick: fn(&Snapshot) -> Memory, peak: bool| {
        let value = |s: &Snapshot| {
            let m = pick(s);
            if peak { m.peak_kib } else { m.rss_kib }
        };
        let (a, b) = (value(base), value(big));
        println!(
            "  {what:<44} {:>16.1} {:>16.1} {:>7.2}×",
            mib(a),
            mib(b),
            ratio(b, a)
        );
    };
    memory_row(
        "VmRSS 2 s after the jobs ended, no call yet",
        |s| s.filled,
        false,
    );
    memory_row("VmRSS right after the warm-up", |s| s.warm_now, false);
    memory_row("VmRSS 2 s after the warm-up", |s| s.warm, false);
    memory_row("VmRSS 2 s after the timed calls", |s| s.after, false);
    memory_row("VmHWM (peak so far)", |s| s.after, true);
    let warm = ratio(big.warm.rss_kib, base.warm.rss_kib);
    println!(
        "  flat within ±{:.0} % (VmRSS 2 s after the warm-up): {}",
        FLAT * 100.0,
        if (warm - 1.0).abs() <= FLAT {
            "yes"
        } else {
            "NO"
        }
    );
}

fn print_redis(scale: &Scale) {
    let (base, big) = (&scale.baseline, &scale.scaled);
    header("redis", base, big);
    let per_job_base = per_job(base.redis_used, scale.redis_empty, base.stored);
    let per_job_big = per_job(big.redis_used, base.redis_used, big.stored - base.stored);
    println!(
        "  {:<44} {:>16.1} {:>16.1}",
        "used_memory (MiB)",
        mib_bytes(base.redis_used),
        mib_bytes(big.redis_used)
    );
    println!(
        "  {:<44} {:>16.0} {:>16.0} {:>7.2}×",
        "bytes per job added",
        per_job_base,
        per_job_big,
        per_job_big / per_job_base
    );
    println!(
        "  {:<44} {:>16.1} {:>16.1}",
        "fill: submit and end the jobs added (s)",
        base.fill.as_secs_f64(),
        big.fill.as_secs_f64()
    );
}

fn print_latency(base: &Snapshot, big: &Snapshot) {
    header("latency, one call at a time: p50 ms (max)", base, big);
    for (a, b) in base.timings.iter().zip(&big.timings) {
        let cell = |t: &super::Timing| match t.latency {
            Some(q) => format!("{:.2} ({:.0})", millis(q.p50), millis(t.max)),
            None => "failed".to_owned(),
        };
        let ratio = match (a.latency, b.latency) {
            (Some(a), Some(b)) => format!("{:>7.2}×", millis(b.p50) / millis(a.p50)),
            _ => String::new(),
        };
        println!(
            "  {:<44} {:>16} {:>16} {ratio:>8}",
            format!("{} ×{}", a.call.label(), a.calls),
            cell(a),
            cell(b)
        );
        if let (Some(ra), Some(rb)) = (a.returned, b.returned) {
            println!("  {:<44} {:>16} {:>16}", "  jobs returned", ra, rb);
        }
        for (t, size) in [(a, base.stored), (b, big.stored)] {
            if let Some(error) = &t.first_error {
                println!(
                    "    {} of {} failed at {} jobs, first {error}",
                    t.errors,
                    t.calls,
                    thousands(size)
                );
            }
        }
    }
}

fn ratio(new: u64, base: u64) -> f64 {
    new as f64 / base.max(1) as f64
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn mib_bytes(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Bytes each of `jobs` added, from `used` down to `before`.
fn per_job(used: u64, before: u64, jobs: usize) -> f64 {
    used.saturating_sub(before) as f64 / jobs.max(1) as f64
}

fn thousands(n: usize) -> String {
    crate::report::thousands(n as f64)
}
