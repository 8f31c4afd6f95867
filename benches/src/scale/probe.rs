//! The calls made at each store size: the same fixed warm-up before the supervisor's memory
//! is read, then each call timed on its own.

use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use hero_supervisor_openrpc_client::{JobStatus, ListFilter, StatusFilter, SupervisorClient};

use crate::latency::{self, Quantiles};
use crate::supervisor::SECRET;

use super::process::ADMIN_SECRET;

/// Rounds of every call before the supervisor's memory is read.
pub(crate) const WARMUP_ROUNDS: usize = 3;

/// One kind of call the probe makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `jobs.list` with no filter: the newest 1,000.
    List,
    /// `jobs.list` with `limit` 10,000, the most one call returns.
    ListMax,
    /// `jobs.list` of one runner's failed jobs, `limit` 100.
    ListFiltered,
    /// `job.status` of one job.
    Status,
    /// `get_supervisor_info`, which counts jobs by status.
    Info,
    /// `GET /health`.
    Health,
}

impl Call {
    pub(crate) const ALL: [Self; 6] = [
        Self::List,
        Self::ListMax,
        Self::ListFiltered,
        Self::Status,
        Self::Info,
        Self::Health,
    ];

    /// As printed.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::List => "jobs.list (default limit 1,000)",
            Self::ListMax => "jobs.list (limit 10,000)",
            Self::ListFiltered => "jobs.list (failed, one runner, limit 100)",
            Self::Status => "job.status",
            Self::Info => "get_supervisor_info",
            Self::Health => "GET /health",
        }
    }

    /// How many timed calls: fewer of the slow ones, so a run stays within minutes.
    fn timed_calls(self) -> usize {
        match self {
            Self::List => 20,
            Self::ListMax => 5,
            Self::ListFiltered | Self::Health => 50,
            Self::Status => 200,
            Self::Info => 3,
        }
    }
}

/// What the probe calls.
pub(crate) struct Probe<'a> {
    pub(crate) client: &'a SupervisorClient,
    pub(crate) http: &'a reqwest::Client,
    /// The supervisor's base URL, for `/health`.
    pub(crate) url: &'a str,
    /// The queue the runner drains, whose failed jobs the filtered listing asks for.
    pub(crate) queue: &'a str,
    /// The job `job.status` asks about.
    pub(crate) job_id: String,
}

/// The timed calls of one kind.
#[derive(Debug, Clone)]
pub(crate) struct Timing {
    pub(crate) call: Call,
    pub(crate) calls: usize,
    /// Over the calls that succeeded; `None` when none did.
    pub(crate) latency: Option<Quantiles>,
    pub(crate) max: Duration,
    /// Jobs the last successful call returned, for the listings.
    pub(crate) returned: Option<usize>,
    pub(crate) errors: usize,
    pub(crate) first_error: Option<String>,
}

impl<'a> Probe<'a> {
    /// A probe asking `job.status` about the newest completed job.
    ///
    /// # Errors
    ///
    /// The listing fails or finds no completed job.
    pub(crate) async fn new(
        client: &'a SupervisorClient,
        http: &'a reqwest::Client,
        url: &'a str,
        queue: &'a str,
    ) -> anyhow::Result<Self> {
        let filter = ListFilter {
            status: Some(StatusFilter::One(JobStatus::Completed)),
            limit: Some(1),
            ..ListFilter::default()
        };
        let newest = client
            .jobs_list_filtered(SECRET, &filter)
            .await
            .context("jobs.list of the newest completed job")?;
        let job_id = newest
            .first()
            .map(|record| record.job.id.clone())
            .context("no completed job is stored")?;
        Ok(Self {
            client,
            http,
            url,
            queue,
            job_id,
        })
    }

    /// Makes every call [`WARMUP_ROUNDS`] times; failures are left to the timed calls to
    /// report.
    pub(crate) async fn warm_up(&self) {
        for _ in 0..WARMUP_ROUNDS {
            for call in Call::ALL {
                // A failing call is timed and reported below, with its error.
                let _ = self.call(call).await;
            }
        }
    }

    /// Times each kind of call, one call at a time.
    pub(crate) async fn time_all(&self) -> Vec<Timing> {
        let mut timings = Vec::with_capacity(Call::ALL.len());
        for call in Call::ALL {
            timings.push(self.time(call).await);
        }
        timings
    }

    async fn time(&self, call: Call) -> Timing {
        let mut histogram: Histogram<u64> = latency::histogram();
        let mut timing = Timing {
            call,
            calls: call.timed_calls(),
            latency: None,
            max: Duration::ZERO,
            returned: None,
            errors: 0,
            first_error: None,
        };
        for _ in 0..timing.calls {
            let started = Instant::now();
            let outcome = self.call(call).await;
            let took = started.elapsed();
            match outcome {
                Ok(returned) => {
                    latency::record(&mut histogram, took);
                    timing.max = timing.max.max(took);
                    timing.returned = returned;
                }
                Err(error) => {
                    timing.errors += 1;
                    timing.first_error.get_or_insert_with(|| {
                        format!("after {:.1} s: {error:#}", took.as_secs_f64())
                    });
                }
            }
        }
        if !histogram.is_empty() {
            timing.latency = Some(latency::quantiles(&histogram));
        }
        timing
    }

    /// Makes one call; returns how many jobs a listing returned.
    async fn call(&self, call: Call) -> anyhow::Result<Option<usize>> {
        let client = self.client;
        let listed = |filter: ListFilter| async move {
            let jobs = client.jobs_list_filtered(SECRET, &filter).await?;
            anyhow::Ok(Some(jobs.len()))
        };
        match call {
            Call::List => Ok(Some(client.jobs_list(SECRET).await?.len())),
            Call::ListMax => {
                listed(ListFilter {
                    limit: Some(10_000),
                    ..ListFilter::default()
                })
                .await
            }
            Call::ListFiltered => {
                listed(ListFilter {
                    status: Some(StatusFilter::One(JobStatus::Failed)),
                    runner: Some(self.queue.to_owned()),
                    limit: Some(100),
                    ..ListFilter::default()
                })
                .await
            }
            Call::Status => {
                client.job_status(&self.job_id).await?;
                Ok(None)
            }
            Call::Info => {
                client.supervisor_info(ADMIN_SECRET).await?;
                Ok(None)
            }
            Call::Health => {
                let response = self.http.get(format!("{}/health", self.url)).send().await?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "/health answered {}",
                    response.status()
                );
                Ok(None)
            }
        }
    }
}
