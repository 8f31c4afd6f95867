//! Waiting for a job's end without polling: the lazily opened events subscription, and
//! the waits that register with it before reading the job.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hero_job::{Job, JobRecord};
use hero_store::{Error, Result};
use tokio::time::Instant;

use crate::connection::{COMMAND_TIMEOUT, RedisStore};
use crate::events::{self, Events, Wake};

impl RedisStore {
    pub(crate) async fn events(&self) -> Result<&Arc<Events>> {
        let subscription = &self.inner.subscription;
        subscription
            .events
            .get_or_try_init(|| async {
                let (events, requests) = Events::new();
                let events = Arc::new(events);
                let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
                let channels = events::Channels {
                    events: self.keys().events(),
                    results: self.keys().results(),
                    changes: self.keys().changes(),
                };
                let task = tokio::spawn(events::listen(
                    self.inner.target.clone(),
                    channels,
                    events.clone(),
                    requests,
                    ready_tx,
                ));
                let ready = tokio::time::timeout(COMMAND_TIMEOUT, ready_rx).await;
                if !matches!(ready, Ok(Ok(()))) {
                    task.abort();
                    return Err(Error::Unavailable {
                        reason: format!(
                            "redis at {}: cannot subscribe to job events",
                            self.inner.safe_url
                        ),
                    });
                }
                *subscription
                    .listener
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some(task);
                Ok(events)
            })
            .await
    }

    pub(crate) async fn wait_final(&self, id: &str, timeout: Duration) -> Result<JobRecord> {
        let events = self.events().await?;
        // Also runs when the caller drops this future (a client that hung up), so senders of
        // abandoned waits do not pile up for jobs that never end.
        let _forget = ForgetOnDrop { events, id };
        self.wait_until(events, id, Instant::now() + timeout).await
    }

    pub(crate) async fn run_job(
        &self,
        job: &Job,
        owner: Option<&str>,
        timeout: Duration,
    ) -> Result<JobRecord> {
        let deadline = Instant::now() + timeout;
        let events = self.events().await?;
        let _forget = ForgetOnDrop {
            events,
            id: &job.id,
        };
        // Registered before the job exists, so its end cannot be missed and no read is
        // needed until it is announced.
        let woken = events.register(&job.id);
        self.submit_waited(job, owner).await?;
        match tokio::time::timeout_at(deadline, woken).await {
            Err(_) => return self.job(&job.id).await,
            Ok(Ok(Wake::Ended(fields))) => {
                // The outcome came with the announcement: the job need not be read. Should it
                // not be readable, reading the job says what is wrong.
                if let Some(record) = ended(job, &fields) {
                    return Ok(record);
                }
            }
            Ok(_) => {}
        }
        self.wait_until(events, &job.id, deadline).await
    }

    /// Reads the job until it is final or `deadline` passes, waking on its announcements.
    async fn wait_until(&self, events: &Events, id: &str, deadline: Instant) -> Result<JobRecord> {
        loop {
            let woken = events.register(id);
            let record = self.job(id).await?;
            if record.status.is_final() {
                return Ok(record);
            }
            // Woken or not (a dropped sender means the listener restarted), read again;
            // a deadline that passed ends the wait with the job as it is.
            if tokio::time::timeout_at(deadline, woken).await.is_err() {
                return self.job(id).await;
            }
        }
    }
}

/// The final record of `job` from the fields its end was announced with; `None` when they
/// cannot be read or do not describe a final state.
fn ended(job: &Job, fields: &str) -> Option<JobRecord> {
    let fields: HashMap<String, String> = serde_json::from_str(fields).ok()?;
    let record = crate::record::with_job(&job.id, job.clone(), fields).ok()?;
    record.status.is_final().then_some(record)
}

/// Drops the closed senders of a waiter's job when the waiter goes away.
struct ForgetOnDrop<'a> {
    events: &'a Events,
    id: &'a str,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        self.events.forget_closed(self.id);
    }
}
