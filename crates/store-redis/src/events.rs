//! The store's announcements: one pub/sub connection per process, fanned out to waiters and
//! watchers.
//!
//! `{ns}:v1:events` announces each job's end (`id\nstatus`, `id\n` for a deletion) and secret
//! changes; waiters register before they read the job, so an end announced between the read
//! and the wait is never missed. An announcement carries only ids and statuses — a job's
//! payload and result can be megabytes, and every supervisor receives every announcement —
//! so a woken waiter reads the job itself. After a reconnect every waiter is woken, since
//! announcements made while the subscription was down are lost.
//!
//! `{ns}:v1:results` announces, before the end announcement, the end of a job submitted by
//! `job.run` together with its outcome (`id\n{fields}`, the job hash's fields but the job
//! itself, as a JSON object): its waiter, which holds the job it submitted, answers without
//! reading it. Only such jobs are announced there, so the payload-free rule above still holds
//! for the rest.
//!
//! The events channel also carries `\nscheduled` when a job became the earliest `scheduled`
//! one, waking the supervisor's promoter before the time it had planned to wake.
//!
//! `{ns}:v1:changes` announces every change of every job (see `changes.rs`); the connection
//! subscribes to it only while this process has watchers, so a process nobody watches through
//! is not sent every change. Watchers are told [`Watched::Missed`] when the connection drops.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use hero_store::{WATCH_CAPACITY, Watched};
use tokio::sync::{broadcast, mpsc, oneshot};

/// A wake-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The job ended or was deleted, or announcements may have been missed: read it.
    Look,
    /// The job ended with these fields of its hash (a JSON object of strings, the job's own
    /// JSON left out).
    Ended(Arc<str>),
}

type Waiters = HashMap<String, Vec<oneshot::Sender<Wake>>>;

/// The payload announcing that secret grants changed: an empty job id.
pub(crate) const SECRETS_CHANGED: &str = "\nsecrets";

/// The payload announcing that a job became the earliest scheduled one: an empty job id.
pub(crate) const SCHEDULED: &str = "\nscheduled";

/// A watcher's request that the connection receive job changes; answered once it does.
pub(crate) type WatchRequest = oneshot::Sender<()>;

/// The waiters and watchers of this process.
#[derive(Debug)]
pub(crate) struct Events {
    waiters: Mutex<Waiters>,
    /// Bumped when secret grants may have changed: announced, or announcements were lost.
    secrets: tokio::sync::watch::Sender<u64>,
    /// Bumped when a job may have become the earliest scheduled one: announced, or
    /// announcements were lost. Wakes the supervisor's promoter (`Store::watch_scheduled`).
    scheduled: tokio::sync::watch::Sender<u64>,
    /// Every job change, to every watcher; bounded, so a slow watcher lags instead of growing.
    changes: broadcast::Sender<Watched>,
    /// To the listener: subscribe to the changes now. Bounded: a request waits its turn.
    watch_requests: mpsc::Sender<WatchRequest>,
}

impl Events {
    /// The events of a new listener, and the receiving end of its watch requests.
    pub(crate) fn new() -> (Self, mpsc::Receiver<WatchRequest>) {
        let (watch_requests, requests) = mpsc::channel(64);
        let events = Self {
            waiters: Mutex::default(),
            secrets: tokio::sync::watch::Sender::new(0),
            scheduled: tokio::sync::watch::Sender::new(0),
            changes: broadcast::Sender::new(WATCH_CAPACITY),
            watch_requests,
        };
        (events, requests)
    }

    /// A receiver of every job change from now on, once the listener receives them.
    ///
    /// # Errors
    ///
    /// `None` when the listener did not start receiving changes within `timeout`.
    pub(crate) async fn watch_jobs(
        &self,
        timeout: Duration,
    ) -> Option<broadcast::Receiver<Watched>> {
        // Subscribed before the request, so the listener sees a watcher when it answers.
        let receiver = self.changes.subscribe();
        let (ack, acked) = oneshot::channel();
        let asked = async {
            self.watch_requests.send(ack).await.ok()?;
            acked.await.ok()
        };
        tokio::time::timeout(timeout, asked).await.ok()??;
        Some(receiver)
    }

    fn has_watchers(&self) -> bool {
        self.changes.receiver_count() > 0
    }

    fn announce_changes(&self, payload: &str) {
        let Some(changes) = crate::changes::parse(payload) else {
            tracing::warn!("ignoring malformed job change");
            return;
        };
        for change in changes {
            // No watcher left is no one to tell.
            let _ = self.changes.send(Watched::Changed(change));
        }
    }

    pub(crate) fn watch_secrets(&self) -> tokio::sync::watch::Receiver<u64> {
        self.secrets.subscribe()
    }

    pub(crate) fn watch_scheduled(&self) -> tokio::sync::watch::Receiver<u64> {
        self.scheduled.subscribe()
    }

    fn scheduled_changed(&self) {
        self.scheduled.send_modify(|generation| *generation += 1);
    }

    fn secrets_changed(&self) {
        self.secrets.send_modify(|generation| *generation += 1);
    }

    pub(crate) fn register(&self, id: &str) -> oneshot::Receiver<Wake> {
        let (tx, rx) = oneshot::channel();
        self.lock().entry(id.to_owned()).or_default().push(tx);
        rx
    }

    /// Drops the senders of waiters that gave up, so ids of unfinished jobs do not pile up.
    pub(crate) fn forget_closed(&self, id: &str) {
        let mut waiters = self.lock();
        if let Some(senders) = waiters.get_mut(id) {
            senders.retain(|tx| !tx.is_closed());
            if senders.is_empty() {
                waiters.remove(id);
            }
        }
    }

    fn dispatch(&self, payload: &str) {
        if payload == SECRETS_CHANGED {
            self.secrets_changed();
            return;
        }
        if payload == SCHEDULED {
            self.scheduled_changed();
            return;
        }
        let Some((id, _status)) = payload.split_once('\n') else {
            tracing::warn!("ignoring malformed job event");
            return;
        };
        let Some(senders) = self.lock().remove(id) else {
            return;
        };
        for tx in senders {
            // A waiter that already gave up has dropped its receiver; nothing to tell it.
            let _ = tx.send(Wake::Look);
        }
    }

    /// Hands a waited-for job's end, with its fields, to its waiters.
    fn dispatch_ended(&self, payload: &str) {
        let Some((id, fields)) = payload.split_once('\n') else {
            tracing::warn!("ignoring malformed job result");
            return;
        };
        let Some(senders) = self.lock().remove(id) else {
            return;
        };
        let fields: Arc<str> = Arc::from(fields);
        for tx in senders {
            // As in `dispatch`.
            let _ = tx.send(Wake::Ended(fields.clone()));
        }
    }

    /// Tells watchers that changes may have been lost: the connection dropped.
    fn changes_lost(&self) {
        if self.has_watchers() {
            // As in `announce_changes`: nobody left to tell is fine.
            let _ = self.changes.send(Watched::Missed);
        }
    }

    fn wake_all(&self) {
        self.secrets_changed();
        self.scheduled_changed();
        let waiters = std::mem::take(&mut *self.lock());
        for tx in waiters.into_values().flatten() {
            // As in `dispatch`: a closed receiver needs no news.
            let _ = tx.send(Wake::Look);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiters> {
        // The map stays consistent even if a holder panicked: every step is one map call.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The channels the listener serves: end announcements, waited-for jobs' outcomes, and job
/// changes for watchers.
#[derive(Debug, Clone)]
pub(crate) struct Channels {
    pub(crate) events: String,
    pub(crate) results: String,
    pub(crate) changes: String,
}

/// Subscribes to the events channel and dispatches every message until the task is aborted,
/// reconnecting with capped exponential backoff; subscribes to the changes channel while
/// there are watchers. `ready` fires after the first subscription.
pub(crate) async fn listen(
    target: crate::target::Target,
    channels: Channels,
    events: Arc<Events>,
    mut requests: mpsc::Receiver<WatchRequest>,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(50);
    loop {
        match subscribe(&target, &channels).await {
            Ok(pubsub) => {
                backoff = Duration::from_millis(50);
                if let Some(ready) = ready.take() {
                    // The store stopped waiting for readiness; the listener still serves it.
                    let _ = ready.send(());
                }
                events.wake_all();
                serve(pubsub, &channels, &events, &mut requests).await;
                tracing::warn!("job event subscription lost; reconnecting");
            }
            Err(e) => tracing::warn!(error = %e, "cannot subscribe to job events"),
        }
        // Only here: a watcher that arrives while the connection is down is answered once the
        // new connection receives changes, and misses nothing after that.
        events.changes_lost();
        events.wake_all();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Dispatches the messages of one connection until it fails.
async fn serve(
    pubsub: redis::aio::PubSub,
    channels: &Channels,
    events: &Events,
    requests: &mut mpsc::Receiver<WatchRequest>,
) {
    let (mut sink, mut stream) = pubsub.split();
    let mut watching = false;
    if events.has_watchers() {
        if sink.subscribe(&channels.changes).await.is_err() {
            return;
        }
        watching = true;
    }
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else { return };
                let payload = match message.get_payload::<String>() {
                    Ok(payload) => payload,
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable job event");
                        continue;
                    }
                };
                let channel = message.get_channel_name();
                if channel == channels.events {
                    events.dispatch(&payload);
                } else if channel == channels.results {
                    events.dispatch_ended(&payload);
                } else if events.has_watchers() {
                    events.announce_changes(&payload);
                } else if watching {
                    // The last watcher left: stop receiving what nobody reads.
                    if sink.unsubscribe(&channels.changes).await.is_err() {
                        return;
                    }
                    watching = false;
                }
            }
            Some(ack) = requests.recv() => {
                if !watching {
                    if sink.subscribe(&channels.changes).await.is_err() {
                        return;
                    }
                    watching = true;
                }
                // A watcher that gave up waiting needs no answer.
                let _ = ack.send(());
            }
        }
    }
}

async fn subscribe(
    target: &crate::target::Target,
    channels: &Channels,
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = target.pubsub().await?;
    pubsub
        .subscribe(&[channels.events.as_str(), channels.results.as_str()])
        .await?;
    Ok(pubsub)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_end_reaches_every_waiter_of_that_job_only() {
        let (events, _requests) = Events::new();
        let mut a = events.register("a");
        let mut a2 = events.register("a");
        let mut b = events.register("b");
        events.dispatch("a\ncompleted");
        assert_eq!(a.try_recv(), Ok(Wake::Look));
        assert_eq!(a2.try_recv(), Ok(Wake::Look));
        assert!(b.try_recv().is_err(), "b has not ended");
    }

    #[test]
    fn a_waited_jobs_end_reaches_its_waiters_with_its_fields() {
        let (events, _requests) = Events::new();
        let mut a = events.register("a");
        let mut b = events.register("b");
        events.dispatch_ended("a\n{\"status\":\"completed\"}");
        assert_eq!(
            a.try_recv(),
            Ok(Wake::Ended(Arc::from("{\"status\":\"completed\"}")))
        );
        assert!(b.try_recv().is_err(), "b has not ended");
        // The end announcement after it finds nobody left to wake.
        events.dispatch("a\ncompleted");
        assert!(events.lock().get("a").is_none());
    }

    #[test]
    fn a_deletion_wakes_the_waiters() {
        let (events, _requests) = Events::new();
        let mut rx = events.register("a");
        events.dispatch("a\n");
        assert_eq!(rx.try_recv(), Ok(Wake::Look));
    }

    #[test]
    fn watchers_get_each_announced_change_and_word_of_a_lost_connection() {
        let (events, _requests) = Events::new();
        events.changes_lost();
        let mut watcher = events.changes.subscribe();
        events.announce_changes("queued\n5\na r o\nb r o");
        events.announce_changes("not a change");
        events.changes_lost();
        let ids: Vec<String> = std::iter::from_fn(|| match watcher.try_recv() {
            Ok(Watched::Changed(change)) => Some(change.id.clone()),
            Ok(Watched::Missed) => Some("missed".to_owned()),
            Err(_) => None,
        })
        .collect();
        assert_eq!(ids, ["a", "b", "missed"], "nothing before it watched");
    }

    #[test]
    fn a_new_earliest_scheduled_job_wakes_the_promoter_and_no_waiter() {
        let (events, _requests) = Events::new();
        let mut promoter = events.watch_scheduled();
        let mut waiter = events.register("a");
        events.dispatch(SCHEDULED);
        assert!(promoter.has_changed().expect("open"));
        promoter.borrow_and_update();
        assert!(waiter.try_recv().is_err());
    }

    #[test]
    fn gave_up_waiters_are_forgotten() {
        let (events, _requests) = Events::new();
        drop(events.register("a"));
        events.forget_closed("a");
        assert!(events.lock().is_empty());
    }
}
