//! The end-of-job announcements: one pub/sub subscription per process, fanned out to waiters.
//!
//! A waiter registers before it reads the job, so an end announced between the read and the
//! wait is never missed. An announcement carries only the id and the new status — a job's
//! payload and result can be megabytes, and every supervisor receives every announcement —
//! so a woken waiter reads the job itself. After a reconnect every waiter is woken, since
//! announcements made while the subscription was down are lost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::oneshot;

/// A wake-up: the job ended or was deleted, or announcements may have been missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wake;

type Waiters = HashMap<String, Vec<oneshot::Sender<Wake>>>;

/// The payload announcing that secret grants changed: an empty job id.
pub(crate) const SECRETS_CHANGED: &str = "\nsecrets";

/// The waiters of this process, by job id.
#[derive(Debug)]
pub(crate) struct Events {
    waiters: Mutex<Waiters>,
    /// Bumped when secret grants may have changed: announced, or announcements were lost.
    secrets: tokio::sync::watch::Sender<u64>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            waiters: Mutex::default(),
            secrets: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl Events {
    pub(crate) fn watch_secrets(&self) -> tokio::sync::watch::Receiver<u64> {
        self.secrets.subscribe()
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
        let Some((id, _status)) = payload.split_once('\n') else {
            tracing::warn!("ignoring malformed job event");
            return;
        };
        let Some(senders) = self.lock().remove(id) else {
            return;
        };
        for tx in senders {
            // A waiter that already gave up has dropped its receiver; nothing to tell it.
            let _ = tx.send(Wake);
        }
    }

    fn wake_all(&self) {
        self.secrets_changed();
        let waiters = std::mem::take(&mut *self.lock());
        for tx in waiters.into_values().flatten() {
            // As in `dispatch`: a closed receiver needs no news.
            let _ = tx.send(Wake);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiters> {
        // The map stays consistent even if a holder panicked: every step is one map call.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Subscribes to `channel` and dispatches every message until the task is aborted,
/// reconnecting with capped exponential backoff. `ready` fires after the first subscription.
pub(crate) async fn listen(
    client: redis::Client,
    channel: String,
    events: Arc<Events>,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(50);
    loop {
        match subscribe(&client, &channel).await {
            Ok(mut pubsub) => {
                backoff = Duration::from_millis(50);
                if let Some(ready) = ready.take() {
                    // The store stopped waiting for readiness; the listener still serves it.
                    let _ = ready.send(());
                }
                events.wake_all();
                let mut messages = pubsub.on_message();
                while let Some(message) = messages.next().await {
                    match message.get_payload::<String>() {
                        Ok(payload) => events.dispatch(&payload),
                        Err(e) => tracing::warn!(error = %e, "unreadable job event"),
                    }
                }
                tracing::warn!("job event subscription lost; reconnecting");
            }
            Err(e) => tracing::warn!(error = %e, "cannot subscribe to job events"),
        }
        events.wake_all();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn subscribe(
    client: &redis::Client,
    channel: &str,
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_end_reaches_every_waiter_of_that_job_only() {
        let events = Events::default();
        let mut a = events.register("a");
        let mut a2 = events.register("a");
        let mut b = events.register("b");
        events.dispatch("a\ncompleted");
        assert_eq!(a.try_recv(), Ok(Wake));
        assert_eq!(a2.try_recv(), Ok(Wake));
        assert!(b.try_recv().is_err(), "b has not ended");
    }

    #[test]
    fn a_deletion_wakes_the_waiters() {
        let events = Events::default();
        let mut rx = events.register("a");
        events.dispatch("a\n");
        assert_eq!(rx.try_recv(), Ok(Wake));
    }

    #[test]
    fn gave_up_waiters_are_forgotten() {
        let events = Events::default();
        drop(events.register("a"));
        events.forget_closed("a");
        assert!(events.lock().is_empty());
    }
}
