//! The Redis floor: how fast a plain `PING` goes through the `redis` crate against the
//! bench's own redis-server, so every job figure can be read as a multiple of it.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::future::try_join_all;
use redis::aio::MultiplexedConnection;

/// Connections of the concurrent floor, as `redis-benchmark -c 50`.
const CONNECTIONS: usize = 50;

/// Commands per pipeline, as `redis-benchmark -P 16`.
const PIPELINE: usize = 16;

/// The floor figures of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Floor {
    /// Round trips per second of one connection, one `PING` after another.
    pub(crate) sequential_per_sec: f64,
    /// Median latency of one of those round trips.
    pub(crate) sequential_p50: Duration,
    /// Round trips per second summed over [`CONNECTIONS`] connections.
    pub(crate) concurrent_per_sec: f64,
    /// Commands per second over [`CONNECTIONS`] connections, [`PIPELINE`] per round trip.
    pub(crate) pipelined_per_sec: f64,
}

/// Measures the floor with `ops` round trips sequentially, `ops * 10` over 50 connections,
/// and `ops * 2.5` pipelines of 16.
///
/// # Errors
///
/// Redis at `url` cannot be reached or answers with an error.
pub(crate) async fn measure(url: &str, ops: usize) -> anyhow::Result<Floor> {
    let client = redis::Client::open(url).context("opening the floor's redis client")?;
    let mut conn = connect(&client).await?;
    // Warm the connection and the server before timing.
    ping_many(&mut conn, ops / 10).await?;
    let (sequential_per_sec, sequential_p50) = sequential(&mut conn, ops).await?;
    let mut conns = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        conns.push(connect(&client).await?);
    }
    let per_conn = ops * 10 / CONNECTIONS;
    let started = Instant::now();
    try_join_all(conns.iter_mut().map(|c| ping_many(c, per_conn))).await?;
    let concurrent_per_sec = rate(per_conn * CONNECTIONS, started.elapsed());
    // A quarter as many round trips: each carries PIPELINE commands.
    let pipes_per_conn = per_conn / 4;
    let started = Instant::now();
    try_join_all(conns.iter_mut().map(|c| pipelined(c, pipes_per_conn))).await?;
    let pipelined_per_sec = rate(pipes_per_conn * PIPELINE * CONNECTIONS, started.elapsed());
    Ok(Floor {
        sequential_per_sec,
        sequential_p50,
        concurrent_per_sec,
        pipelined_per_sec,
    })
}

async fn connect(client: &redis::Client) -> anyhow::Result<MultiplexedConnection> {
    client
        .get_multiplexed_async_connection()
        .await
        .context("connecting to the bench's redis")
}

/// Times each of `ops` sequential round trips; returns the rate and the median.
async fn sequential(
    conn: &mut MultiplexedConnection,
    ops: usize,
) -> anyhow::Result<(f64, Duration)> {
    let mut histogram = crate::latency::histogram();
    let started = Instant::now();
    for _ in 0..ops {
        let sent = Instant::now();
        ping(conn).await?;
        crate::latency::record(&mut histogram, sent.elapsed());
    }
    let elapsed = started.elapsed();
    Ok((
        rate(ops, elapsed),
        crate::latency::quantile(&histogram, 0.5),
    ))
}

async fn ping_many(conn: &mut MultiplexedConnection, ops: usize) -> anyhow::Result<()> {
    for _ in 0..ops {
        ping(conn).await?;
    }
    Ok(())
}

async fn ping(conn: &mut MultiplexedConnection) -> anyhow::Result<()> {
    let pong: String = redis::cmd("PING").query_async(conn).await.context("PING")?;
    anyhow::ensure!(pong == "PONG", "PING answered {pong:?}");
    Ok(())
}

/// `round_trips` pipelines of [`PIPELINE`] `PING`s each.
async fn pipelined(conn: &mut MultiplexedConnection, round_trips: usize) -> anyhow::Result<()> {
    let mut pipe = redis::pipe();
    for _ in 0..PIPELINE {
        pipe.cmd("PING");
    }
    for _ in 0..round_trips {
        let pongs: Vec<String> = pipe.query_async(conn).await.context("pipelined PING")?;
        anyhow::ensure!(pongs.len() == PIPELINE, "a pipeline lost answers");
    }
    Ok(())
}

/// Operations per second.
pub(crate) fn rate(ops: usize, elapsed: Duration) -> f64 {
    ops as f64 / elapsed.as_secs_f64().max(f64::EPSILON)
}
