//! *hops* (`--hops`): where one `job.run` spends its time. Sequential `job.run` calls with
//! the no-op runner, as in the roundtrip workload, while a `MONITOR` connection records when
//! Redis received each command of the path. Redis stamps each command on arrival with the
//! same clock as this process's, so the calls' send and receive times and Redis' stamps fall
//! on one time line:
//!
//! 1. call sent → submit script arrives (HTTP, JSON-RPC, the secret check, the job's checks);
//! 2. submit arrives → claim arrives (the submit script, the runner's wake-up, its claim);
//! 3. claim arrives → finish arrives (the claim script, executing the job, the report);
//! 4. finish arrives → reply received (the finish script, the end-of-job message, the
//!    waiting call's wake-up, a read of the job if it needs one, the JSON-RPC reply).
//!
//! `MONITOR` slows Redis down a little, so the sum is above the roundtrip workload's figure;
//! the split is what this measures.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use futures::StreamExt;

use crate::latency;
use crate::roundtrip::{self, WARMUP};
use crate::runners::RunnerKind;
use crate::supervisor::SECRET;
use crate::workload::{self, Setup};

/// The hops of one `job.run`, in path order.
pub(crate) const HOPS: [&str; 4] = [
    "call sent → submit script at Redis",
    "submit → runner's claim at Redis",
    "claim → runner's report at Redis",
    "report → reply received",
];

/// The first group of every timed call's job id.
const ID_PREFIX: &str = "b0b0b0b0";

/// When each step of one call happened (seconds since the epoch).
#[derive(Debug, Default, Clone, Copy)]
struct Stamps {
    sent: f64,
    submit: Option<f64>,
    claim: Option<f64>,
    finish: Option<f64>,
    received: f64,
}

/// The median and p90 of each hop, and the number of calls whose every step was seen.
#[derive(Debug)]
pub(crate) struct Hops {
    pub(crate) calls: usize,
    pub(crate) p50: Vec<Duration>,
    pub(crate) p90: Vec<Duration>,
    pub(crate) total_p50: Duration,
}

/// Runs `calls` timed `job.run` calls (after the roundtrip workload's warm-up) under
/// `MONITOR` and splits each into its hops.
///
/// # Errors
///
/// A call fails, or `MONITOR` cannot be started.
pub(crate) async fn run(setup: &Setup<'_>, calls: usize) -> anyhow::Result<Hops> {
    let kind = RunnerKind::Mock;
    let (supervisor, runners, queue) = roundtrip::start(setup, kind, "hops").await?;
    for n in 0..WARMUP {
        let result = supervisor
            .client
            .job_run(SECRET, workload::job(kind, &queue, n)?)
            .await?;
        workload::check(kind, n, &result)?;
    }

    let client = redis::Client::open(setup.redis_url)?;
    let monitor = client
        .get_async_monitor()
        .await
        .context("starting MONITOR")?;
    let lines = tokio::spawn(async move {
        let mut lines = Vec::new();
        let mut stream = monitor.into_on_message::<String>();
        while let Some(line) = stream.next().await {
            let done = line.contains("\"hops-bench-end\"");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    });
    // A command that only shows on the monitor marks that it is up; another, its end.
    let mut conn = client.get_multiplexed_async_connection().await?;
    let _: () = redis::cmd("ECHO")
        .arg("hops-bench-start")
        .query_async(&mut conn)
        .await?;

    let mut stamps: HashMap<String, Stamps> = HashMap::new();
    for n in WARMUP..WARMUP + calls {
        // An id of a form no other key or argument has, so a `MONITOR` line names its call.
        let id = format!("{ID_PREFIX}-0000-4000-8000-{n:012}");
        let mut job = workload::job(kind, &queue, n)?;
        job.id.clone_from(&id);
        let sent = epoch();
        let result = supervisor.client.job_run(SECRET, job).await?;
        let received = epoch();
        workload::check(kind, n, &result)?;
        stamps.insert(
            id,
            Stamps {
                sent,
                received,
                ..Stamps::default()
            },
        );
    }
    let _: () = redis::cmd("ECHO")
        .arg("hops-bench-end")
        .query_async(&mut conn)
        .await?;
    let lines = tokio::time::timeout(Duration::from_secs(30), lines)
        .await
        .context("MONITOR did not show the end marker")??;
    runners.stop().await;
    supervisor.stop().await?;

    if let Ok(path) = std::env::var("HOPS_DUMP") {
        std::fs::write(path, lines.join("\n"))?;
    }
    for line in &lines {
        attribute(line, &mut stamps);
    }
    Ok(split(stamps.values()))
}

/// Files one `MONITOR` line under the call it belongs to. Commands a script runs show as
/// coming from `lua` and are left out: only what a process sent counts.
fn attribute(line: &str, stamps: &mut HashMap<String, Stamps>) {
    let Some((time, rest)) = line.split_once(' ') else {
        return;
    };
    let Ok(time) = time.parse::<f64>() else {
        return;
    };
    if rest.starts_with("[0 lua]") || rest.contains(" lua]") {
        return;
    }
    let Some(at) = rest.find(ID_PREFIX) else {
        return;
    };
    let Some(call) = rest.get(at..at + 36).and_then(|id| stamps.get_mut(id)) else {
        return;
    };
    let first = |slot: &mut Option<f64>| {
        if slot.is_none() {
            *slot = Some(time);
        }
    };
    if rest.contains("\"EVALSHA\"") || rest.contains("\"EVAL\"") {
        // The claim names the workers' lease index; a report (finish_many.lua), the end
        // channel; a submit, the jobs index.
        if rest.contains(":workers\"") {
            first(&mut call.claim);
        } else if rest.contains(":events\"") {
            first(&mut call.finish);
        } else if rest.contains(":jobs\"") {
            first(&mut call.submit);
        }
    }
}

fn split<'a>(calls: impl Iterator<Item = &'a Stamps>) -> Hops {
    let mut hops: Vec<_> = HOPS.iter().map(|_| latency::histogram()).collect();
    let mut total = latency::histogram();
    let mut complete = 0;
    for call in calls {
        let (Some(submit), Some(claim), Some(finish)) = (call.submit, call.claim, call.finish)
        else {
            continue;
        };
        complete += 1;
        let points = [call.sent, submit, claim, finish, call.received];
        for (hop, pair) in hops.iter_mut().zip(points.windows(2)) {
            latency::record(hop, Duration::from_secs_f64((pair[1] - pair[0]).max(0.0)));
        }
        latency::record(
            &mut total,
            Duration::from_secs_f64(call.received - call.sent),
        );
    }
    Hops {
        calls: complete,
        p50: hops.iter().map(|h| latency::quantile(h, 0.5)).collect(),
        p90: hops.iter().map(|h| latency::quantile(h, 0.9)).collect(),
        total_p50: latency::quantile(&total, 0.5),
    }
}

fn epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// Prints the hops as a table.
pub(crate) fn print(hops: &Hops) {
    println!(
        "job.run hops (no-op runner, {} calls under MONITOR):",
        hops.calls
    );
    println!("| hop | p50 ms | p90 ms |");
    println!("|---|---:|---:|");
    for (i, name) in HOPS.iter().enumerate() {
        println!(
            "| {name} | {:.3} | {:.3} |",
            latency::millis(hops.p50[i]),
            latency::millis(hops.p90[i])
        );
    }
    println!("| whole call | {:.3} | |", latency::millis(hops.total_p50));
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "b0b0b0b0-0000-4000-8000-000000000050";

    #[test]
    fn monitor_lines_are_filed_under_their_call_and_script_commands_are_left_out() {
        let mut stamps = HashMap::from([(
            ID.to_owned(),
            Stamps {
                sent: 10.0,
                received: 10.01,
                ..Stamps::default()
            },
        )]);
        let lines = [
            format!(
                r#"10.001 [0 127.0.0.1:1] "EVALSHA" "s" "3" "n:v1:job:{ID}" "n:v1:jobs" "n:v1:queue:q""#
            ),
            format!(r#"10.0015 [0 lua] "HSET" "n:v1:job:{ID}" "status" "queued""#),
            format!(
                r#"10.002 [0 127.0.0.1:2] "EVALSHA" "c" "5" "n:v1:queue:q" "n:v1:inflight:w" "n:v1:workers" "n:v1:seen" "n:v1:attempts" "{ID}""#
            ),
            format!(
                r#"10.003 [0 127.0.0.1:2] "EVALSHA" "f" "0" "n:v1:" "now" "n:v1:events" "5000" "{ID}" "w""#
            ),
            format!(
                r#"10.004 [0 127.0.0.1:2] "EVALSHA" "f" "0" "n:v1:" "now" "n:v1:events" "5000" "{ID}" "w""#
            ),
            r#"10.005 [0 127.0.0.1:1] "PING""#.to_owned(),
        ];
        for line in &lines {
            attribute(line, &mut stamps);
        }
        let call = stamps[ID];
        assert_eq!(call.submit, Some(10.001));
        assert_eq!(call.claim, Some(10.002));
        assert_eq!(call.finish, Some(10.003), "the first report counts");
        let hops = split(stamps.values());
        assert_eq!(hops.calls, 1);
        assert_eq!(hops.p50[0], Duration::from_millis(1));
    }

    #[test]
    fn a_call_missing_a_step_is_left_out_of_the_split() {
        let stamps = [Stamps {
            sent: 1.0,
            submit: Some(1.001),
            received: 1.01,
            ..Stamps::default()
        }];
        assert_eq!(split(stamps.iter()).calls, 0);
    }
}
