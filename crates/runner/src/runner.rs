//! [`run`]: the claim loop of one runner process and its graceful shutdown.
//!
//! The loop takes a concurrency permit, claims a job and spawns its task (see `job`); the
//! heartbeat task runs beside it. On shutdown: stop claiming, wait for running jobs up to the
//! grace period, cancel the rest and report them failed, then stop heartbeating.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hero_store::{Claimed, NextClaim, Store};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::backoff::Backoff;
use crate::executor::Executor;
use crate::inflight::InFlight;
use crate::job::Worker;
use crate::{Error, RunnerConfig, heartbeat};

/// Most jobs claimed in one round trip.
const MAX_BATCH: usize = 32;

/// Runs a runner on `store` until `shutdown` completes, then shuts down gracefully.
///
/// Claims jobs from `config.queue` as worker `config.worker`, executing up to
/// `config.concurrency` at once with `executor`. Store failures never end the runner: claims
/// are retried with capped exponential backoff (50 ms to 5 s, with jitter), heartbeats on the
/// next beat, and reports until the store accepts or refuses them.
///
/// When `shutdown` completes, the claim under way finishes (at most `config.claim_wait`) and
/// no further job is claimed; running jobs get
/// `config.shutdown_grace` to end, after which they are cancelled and reported failed with
/// "runner shut down before the job finished". Returns once every job is reported.
///
/// # Errors
///
/// [`Error::InvalidConfig`] when `config` fails [`RunnerConfig::validate`]; nothing runs then.
pub async fn run(
    store: Arc<dyn Store>,
    config: RunnerConfig,
    executor: Arc<dyn Executor>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    config.validate()?;
    let span = tracing::info_span!("runner", queue = %config.queue, worker = %config.worker);
    serve(store, config, executor, shutdown)
        .instrument(span)
        .await;
    Ok(())
}

async fn serve(
    store: Arc<dyn Store>,
    config: RunnerConfig,
    executor: Arc<dyn Executor>,
    shutdown: impl Future<Output = ()>,
) {
    let worker = Arc::new(Worker {
        id: config.worker.clone(),
        runner: config.queue.clone(),
        access: config.access,
        store: store.clone(),
        executor,
        inflight: InFlight::default(),
        abort: CancellationToken::new(),
        counters: Arc::default(),
        next: NextClaim {
            queue: config.queue.clone(),
            lease: config.lease,
        },
        draining: CancellationToken::new(),
    });
    // Heartbeats go on through the drain: running jobs keep their lease and can be stopped.
    let stop_heartbeat = CancellationToken::new();
    let heartbeat = tokio::spawn(
        heartbeat::run(
            store,
            config.worker.clone(),
            config.lease,
            config.heartbeat,
            worker.inflight.clone(),
            heartbeat::Reporting {
                runner: config.queue.clone(),
                slots: config.concurrency,
                counters: worker.counters.clone(),
            },
            stop_heartbeat.clone(),
        )
        .in_current_span(),
    );
    tracing::info!(concurrency = config.concurrency, "runner started");

    let jobs = TaskTracker::new();
    claim_loop(&worker, &config, &jobs, shutdown).await;
    worker.draining.cancel();
    drain(&jobs, &worker.abort, config.shutdown_grace).await;

    stop_heartbeat.cancel();
    if let Err(error) = heartbeat.await {
        tracing::error!(%error, "heartbeat task failed");
    }
    tracing::info!("runner stopped");
}

/// Claims and spawns jobs until `shutdown` completes.
async fn claim_loop(
    worker: &Arc<Worker>,
    config: &RunnerConfig,
    jobs: &TaskTracker,
    shutdown: impl Future<Output = ()>,
) {
    // Each running job holds one permit, so at most `concurrency` run at once.
    let permits = Arc::new(Semaphore::new(config.concurrency));
    let mut backoff = Backoff::store();
    tokio::pin!(shutdown);
    loop {
        let first = tokio::select! {
            () = &mut shutdown => return,
            permit = permits.clone().acquire_owned() => {
                permit.expect("the semaphore is never closed")
            }
        };
        // Every free slot joins the claim, so a busy runner takes a batch per round trip.
        let mut slots = vec![first];
        while slots.len() < MAX_BATCH {
            match permits.clone().try_acquire_owned() {
                Ok(permit) => slots.push(permit),
                Err(_) => break,
            }
        }
        // A claim is never abandoned half-way: one dropped after the store moved jobs into
        // this worker's in-flight list would leave them with nobody running them. Shutdown
        // waits for the claim instead, at most `claim_wait`, and runs what it brings.
        let claim = worker.store.claim(
            &config.queue,
            &worker.id,
            config.lease,
            config.claim_wait,
            slots.len(),
        );
        tokio::pin!(claim);
        let mut shutting_down = false;
        let claimed = tokio::select! {
            claimed = &mut claim => claimed,
            () = &mut shutdown => {
                shutting_down = true;
                claim.await
            }
        };
        match claimed {
            Ok(claimed) => {
                backoff.reset();
                // Unused slots are released when `slots` drops.
                for (claim, permit) in claimed.into_iter().zip(slots.drain(..)) {
                    spawn_job(worker, jobs, claim, permit);
                }
            }
            Err(error) if !shutting_down => {
                let delay = backoff.next_delay();
                tracing::warn!(%error, ?delay, "claim failed; retrying");
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(delay) => {}
                }
            }
            Err(error) => tracing::warn!(%error, "last claim failed"),
        }
        if shutting_down {
            return;
        }
    }
}

fn spawn_job(
    worker: &Arc<Worker>,
    jobs: &TaskTracker,
    claim: Claimed,
    permit: OwnedSemaphorePermit,
) {
    let worker = worker.clone();
    jobs.spawn(
        async move {
            // The permit stays with the task while each report brings the next job.
            worker.run_jobs(claim).await;
            drop(permit);
        }
        .in_current_span(),
    );
}

/// Waits for running jobs up to `grace`, then cancels the rest and waits for their reports.
async fn drain(jobs: &TaskTracker, abort: &CancellationToken, grace: Duration) {
    jobs.close();
    if jobs.is_empty() {
        return;
    }
    tracing::info!(
        running = jobs.len(),
        ?grace,
        "shutting down; waiting for running jobs"
    );
    if tokio::time::timeout(grace, jobs.wait()).await.is_err() {
        tracing::warn!(
            running = jobs.len(),
            "jobs outlasted the shutdown grace; cancelling them"
        );
        abort.cancel();
        // Bounded: each job task returns within a second of cancellation plus its report.
        jobs.wait().await;
    }
}
