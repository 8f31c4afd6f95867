//! `jobs.subscribe`: a WebSocket subscription to job events, fed by the hub in `events.rs`.
//! The secret decides which jobs it sees, as for `jobs.list`, and is checked again whenever
//! grants change, so a removed secret stops receiving at once.

use std::sync::Arc;

use hero_store::Store;
use hero_supervisor_api::methods::{Access, names};
use hero_supervisor_api::params::{self, EventFilter, SubscribeParams};
use hero_supervisor_api::{Secret, methods};
use jsonrpsee::core::SubscriptionError;
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{PendingSubscriptionSink, SubscriptionMessage, SubscriptionSink};

use super::access::required;
use crate::auth::{self, Caller};
use crate::error::Error;
use crate::events::{Ended, Filter, Subscription};
use crate::supervisor::Supervisor;

/// Serves one `jobs.subscribe` call: refuses it, or sends its events until the client
/// unsubscribes or goes away, or the subscription ends with an error notification.
pub(super) async fn subscribe(
    supervisor: Arc<Supervisor>,
    raw: Option<&str>,
    pending: PendingSubscriptionSink,
) -> Result<(), SubscriptionError> {
    let opened = open(&supervisor, raw).await;
    let (caller, secret, subscription) = match opened {
        Ok(opened) => opened,
        Err(error) => {
            pending.reject(ErrorObjectOwned::from(error)).await;
            return Ok(());
        }
    };
    let grants = match supervisor.store.watch_secrets().await {
        Ok(grants) => grants,
        Err(error) => {
            pending
                .reject(ErrorObjectOwned::from(Error::from(error)))
                .await;
            return Ok(());
        }
    };
    let Ok(sink) = pending.accept().await else {
        return Ok(()); // the client left before its subscription id reached it
    };
    let watched = Watched {
        supervisor: &supervisor,
        caller,
        secret,
        grants,
    };
    match watched.forward(subscription, &sink).await {
        None => Ok(()),
        Some(error) => Err(as_notification(error)),
    }
}

/// Checks the secret and the filter, and opens the subscription in the hub.
async fn open(
    supervisor: &Supervisor,
    raw: Option<&str>,
) -> Result<(Caller, Option<Secret>, Subscription), Error> {
    let method = methods::find(names::JOBS_SUBSCRIBE).expect("the subscription is declared");
    let (named, caller) = super::admit(supervisor, method, raw).await?;
    let caller = required(caller.as_ref())?.clone();
    let p: SubscribeParams = params::parse(method, named)?;
    let filter = filter(supervisor, &caller, p.filter.unwrap_or_default())?;
    let subscription = supervisor
        .hub
        .subscribe(
            &supervisor.store,
            filter,
            supervisor.max_events_per_subscription,
            &supervisor.shutdown,
        )
        .await?;
    Ok((caller, p.secret, subscription))
}

/// The hub's filter for `given`, limited to the jobs `caller` may see.
///
/// # Errors
///
/// A malformed id or runner name, or more `job_ids` than `[limits] max_jobs_per_call`.
fn filter(supervisor: &Supervisor, caller: &Caller, given: EventFilter) -> Result<Filter, Error> {
    let job_ids = match given.job_ids {
        Some(ids) if ids.len() > supervisor.max_jobs_per_call => {
            return Err(Error::TooManyJobs {
                given: ids.len(),
                max: supervisor.max_jobs_per_call,
            });
        }
        Some(ids) => {
            for id in &ids {
                hero_job::validate_id("filter.job_ids", id)?;
            }
            Some(ids.into_iter().collect())
        }
        None => None,
    };
    if let Some(runner) = &given.runner {
        hero_job::validate_id("filter.runner", runner)?;
    }
    Ok(Filter {
        owner: caller.required_owner().map(str::to_owned),
        job_ids,
        runner: given.runner,
        statuses: given.status.map(|s| s.to_vec()).unwrap_or_default(),
    })
}

/// One accepted subscription: who opened it, and how to learn that grants changed.
struct Watched<'a> {
    supervisor: &'a Supervisor,
    caller: Caller,
    secret: Option<Secret>,
    grants: tokio::sync::watch::Receiver<u64>,
}

impl Watched<'_> {
    /// Sends the events of `subscription` until the client goes away (`None`) or the
    /// subscription must end with an error.
    async fn forward(
        mut self,
        mut subscription: Subscription,
        sink: &SubscriptionSink,
    ) -> Option<Error> {
        loop {
            let event = tokio::select! {
                () = sink.closed() => return None,
                ended = &mut subscription.ended => {
                    return Some(ended_error(ended, self.supervisor.max_events_per_subscription));
                }
                changed = self.grants.changed() => {
                    if changed.is_err() || !self.still_allowed().await {
                        return Some(Error::SubscriptionRevoked);
                    }
                    continue;
                }
                event = subscription.events.recv() => event?,
            };
            let message = SubscriptionMessage::from(
                serde_json::value::to_raw_value(&*event).expect("a job event serializes to JSON"),
            );
            tokio::select! {
                sent = sink.send(message) => sent.ok()?,
                ended = &mut subscription.ended => {
                    return Some(ended_error(ended, self.supervisor.max_events_per_subscription));
                }
            }
        }
    }

    /// True while the secret still grants what it granted when the subscription opened.
    async fn still_allowed(&self) -> bool {
        let store: &dyn Store = self.supervisor.store.as_ref();
        self.supervisor.secrets.refresh(store).await;
        let now = auth::authorize(
            &self.supervisor.secrets,
            Access::User,
            self.secret.as_ref(),
            self.supervisor.require_secret_for_reads,
        );
        matches!(now, Ok(Some(caller)) if caller == self.caller)
    }
}

fn ended_error(
    ended: Result<Ended, tokio::sync::oneshot::error::RecvError>,
    pending: usize,
) -> Error {
    match ended {
        Ok(Ended::TooSlow) => Error::EventsTooSlow { pending },
        Ok(Ended::Missed) => Error::EventsMissed,
        // The hub dropped it: the supervisor is shutting down.
        Err(_) => Error::ShuttingDown { id: None },
    }
}

/// The error notification that ends a subscription: `params.error` is `{code, message}`.
fn as_notification(error: Error) -> SubscriptionError {
    let object = ErrorObjectOwned::from(error);
    let json = serde_json::value::to_raw_value(&object).expect("an error object serializes");
    SubscriptionError::from_json(json)
}
