//! The printed report: this run's figures, each also as a ratio to this run's Redis floor,
//! beside the peers' BullMQ figures and the project's aims.

use crate::drain::Drain;
use crate::floor::Floor;
use crate::io::mib;
use crate::latency::millis;
use crate::resources::TICK;
use crate::roundtrip::Roundtrip;

/// BullMQ 6.7 (Node, concurrency 8), from `notes/peer-benchmarks.md`: not measured here.
mod bullmq {
    pub(super) const ENQUEUE_PER_SEC: f64 = 13_658.0;
    pub(super) const DRAIN_PER_SEC: f64 = 8_008.0;
    pub(super) const ROUNDTRIP_MS: [f64; 3] = [1.00, 2.78, 5.97];
}

/// The aim: twice BullMQ's drain rate.
const TARGET_DRAIN_PER_SEC: f64 = 2.0 * bullmq::DRAIN_PER_SEC;

/// The aim: a third of BullMQ's roundtrip p50, in ms.
const TARGET_P50_MS: f64 = bullmq::ROUNDTRIP_MS[0] / 3.0;

/// Everything one run measured.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) floor: Floor,
    pub(crate) drains: Vec<Drain>,
    pub(crate) roundtrips: Vec<Roundtrip>,
    /// The same drains and roundtrips on the embedded store, in the same order (`--embedded`).
    pub(crate) embedded: Option<(Vec<Drain>, Vec<Roundtrip>)>,
}

impl Report {
    /// Prints the report to stdout.
    pub(crate) fn print(&self) {
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        println!(
            "\nMEASURED IN THIS RUN ({}, {cores} cores, private redis-server, no persistence)",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
        );
        self.print_floor();
        self.print_drains();
        self.print_drain_costs();
        self.print_roundtrips();
        if let Some((drains, roundtrips)) = &self.embedded {
            self.print_embedded(drains, roundtrips);
        }
        print_peers();
    }

    fn print_floor(&self) {
        let f = &self.floor;
        println!("\nRedis floor (redis crate, PING)");
        println!(
            "  1 connection, sequential     {:>10} round trips/s   p50 {:.3} ms",
            thousands(f.sequential_per_sec),
            millis(f.sequential_p50)
        );
        println!(
            "  50 connections               {:>10} round trips/s",
            thousands(f.concurrent_per_sec)
        );
        println!(
            "  50 connections, pipeline 16  {:>10} commands/s",
            thousands(f.pipelined_per_sec)
        );
    }

    fn print_drains(&self) {
        let seq = self.floor.sequential_per_sec;
        println!("\nenqueue + drain (jobs.create + job.start, then runners started)");
        println!(
            "  {:<12} {:>5} {:>7} {:>10} {:>10} {:>10} {:>12} {:>9} {:>9} {:>9}",
            "runner",
            "procs",
            "jobs",
            "enqueue/s",
            "bulk enq/s",
            "drain/s",
            "floor RT/job",
            "÷BullMQ",
            "÷target",
            "startup"
        );
        for d in &self.drains {
            println!(
                "  {:<12} {:>5} {:>7} {:>10} {:>10} {:>10} {:>12.1} {:>8.2}× {:>8.2}× {:>6.0} ms",
                d.kind.name(),
                d.layout.to_string(),
                d.jobs,
                thousands(d.enqueue_per_sec),
                thousands(d.bulk_enqueue_per_sec),
                thousands(d.drain_per_sec),
                seq / d.drain_per_sec,
                d.drain_per_sec / bullmq::DRAIN_PER_SEC,
                d.drain_per_sec / TARGET_DRAIN_PER_SEC,
                millis(d.startup),
            );
        }
        println!(
            "  bulk enq/s: jobs.create_many, 1,000 jobs per call, one call at a time, on a queue no \
             runner drains;\n  floor RT/job: sequential floor round trips/s ÷ drain jobs/s (the Redis round trips \
             one job costs in time);\n  ÷BullMQ, ÷target: our drain ÷ theirs, 1× or more meets it"
        );
    }

    /// CPU per job and peak memory of the drains whose supervisor ran as a process of its own.
    fn print_drain_costs(&self) {
        let rows: Vec<_> = self
            .drains
            .iter()
            .filter_map(|d| d.costs.map(|c| (d, c)))
            .collect();
        if rows.is_empty() {
            return;
        }
        println!("\nCPU per job and peak memory (redis; the supervisor binary as a child process)");
        println!(
            "  {:<12} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8}",
            "", "", "supervisor", "µs/job", "", "runners", "redis", "µs/job", "", "peak", "MiB", ""
        );
        println!(
            "  {:<12} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8}",
            "runner",
            "procs",
            "enqueue",
            "bulk",
            "drain",
            "drain",
            "enqueue",
            "bulk",
            "drain",
            "super",
            "runner",
            "redis"
        );
        for (d, c) in rows {
            println!(
                "  {:<12} {:>5} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>8.1} {:>8.1} {:>8.1}",
                d.kind.name(),
                d.layout.to_string(),
                c.enqueue.supervisor.cpu_us_per_job,
                c.bulk.supervisor.cpu_us_per_job,
                c.drain.supervisor.cpu_us_per_job,
                c.drain.runners.cpu_us_per_job,
                c.enqueue.redis.cpu_us_per_job,
                c.bulk.redis.cpu_us_per_job,
                c.drain.redis.cpu_us_per_job,
                mib(c.drain.supervisor.peak_kib),
                mib(c.drain.runners.peak_kib),
                mib(c.drain.redis.peak_kib),
            );
        }
        println!(
            "  µs/job: user + system CPU time from /proc/PID/stat ({} ms ticks) over the phase, ÷ jobs; \
             enqueue: jobs.create + job.start;\n  bulk: jobs.create_many; drain: runners' start to \
             last end (runners: all processes, from their start); the bench's own client is not \
             counted;\n  peak MiB: VmHWM in the process's life (supervisor: of this workload; \
             runner: the largest process; redis: of the whole run)",
            TICK.as_millis()
        );
    }

    fn print_roundtrips(&self) {
        let ping = millis(self.floor.sequential_p50);
        println!("\nroundtrip (sequential job.run, runner 1×8 already up)");
        println!(
            "  {:<12} {:>6} {:>8} {:>8} {:>8} {:>10} {:>9} {:>9}",
            "runner", "calls", "p50 ms", "p90 ms", "p99 ms", "p50÷PING", "÷BullMQ", "÷target"
        );
        for r in &self.roundtrips {
            let p50 = millis(r.latency.p50);
            println!(
                "  {:<12} {:>6} {:>8.3} {:>8.3} {:>8.3} {:>9.1}× {:>8.2}× {:>8.2}×",
                r.kind.name(),
                r.calls,
                p50,
                millis(r.latency.p90),
                millis(r.latency.p99),
                p50 / ping,
                p50 / bullmq::ROUNDTRIP_MS[0],
                p50 / TARGET_P50_MS,
            );
        }
        println!("  ÷BullMQ, ÷target: our p50 ÷ theirs, 1× or less meets it");
    }
}

impl Report {
    fn print_embedded(&self, drains: &[Drain], roundtrips: &[Roundtrip]) {
        println!(
            "\nembedded store beside redis (no redis_url, runners through the runner socket; \
             ÷redis: embedded ÷ the redis figure above)"
        );
        println!(
            "  {:<9} {:<12} {:>5} {:>7} {:>10} {:>7} {:>10} {:>7} {:>10} {:>7} {:>9}",
            "store",
            "runner",
            "procs",
            "jobs",
            "enqueue/s",
            "÷redis",
            "bulk enq/s",
            "÷redis",
            "drain/s",
            "÷redis",
            "startup"
        );
        for (e, r) in drains.iter().zip(&self.drains) {
            println!(
                "  {:<9} {:<12} {:>5} {:>7} {:>10} {:>6.2}× {:>10} {:>6.2}× {:>10} {:>6.2}× {:>6.0} ms",
                e.backend.name(),
                e.kind.name(),
                e.layout.to_string(),
                e.jobs,
                thousands(e.enqueue_per_sec),
                e.enqueue_per_sec / r.enqueue_per_sec,
                thousands(e.bulk_enqueue_per_sec),
                e.bulk_enqueue_per_sec / r.bulk_enqueue_per_sec,
                thousands(e.drain_per_sec),
                e.drain_per_sec / r.drain_per_sec,
                millis(e.startup),
            );
        }
        println!(
            "  {:<9} {:<12} {:>6} {:>8} {:>8} {:>8} {:>10}",
            "store", "runner", "calls", "p50 ms", "p90 ms", "p99 ms", "p50÷redis"
        );
        for (e, r) in roundtrips.iter().zip(&self.roundtrips) {
            let p50 = millis(e.latency.p50);
            println!(
                "  {:<9} {:<12} {:>6} {:>8.3} {:>8.3} {:>8.3} {:>9.2}×",
                e.backend.name(),
                e.kind.name(),
                e.calls,
                p50,
                millis(e.latency.p90),
                millis(e.latency.p99),
                p50 / millis(r.latency.p50),
            );
        }
        println!("  rates: more than 1× is faster than redis; latency: less than 1× is faster");
    }
}

fn print_peers() {
    let [p50, p90, p99] = bullmq::ROUNDTRIP_MS;
    println!("\nFROM notes/peer-benchmarks.md (not measured here; 2 cores, redis 7.0)");
    println!(
        "  BullMQ 6.7 (concurrency 8)   enqueue {} jobs/s, drain {} jobs/s, roundtrip p50/p90/p99 \
         {p50:.2}/{p90:.2}/{p99:.2} ms",
        thousands(bullmq::ENQUEUE_PER_SEC),
        thousands(bullmq::DRAIN_PER_SEC),
    );
    println!(
        "  target: drain ≥ {} jobs/s (2× BullMQ), roundtrip p50 ≤ {TARGET_P50_MS:.2} ms (1/3 BullMQ)",
        thousands(TARGET_DRAIN_PER_SEC)
    );
}

/// `value` rounded, with `,` between thousands.
pub(crate) fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated_by_commas() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(16_016.0), "16,016");
        assert_eq!(thousands(1_234_567.8), "1,234,568");
    }
}
