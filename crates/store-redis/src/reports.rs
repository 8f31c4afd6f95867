//! Runners' reports sent in batches: the reports that come in while batches are on their way
//! go together in the next `finish_many.lua` call (group commit), with at most
//! [`MAX_SENDERS`] batches on their way at once. A lone report goes at
//! once, so a runner that reports one job at a time waits no longer than before; a busy one
//! pays one script call, one clock read and one change announcement per batch instead of per
//! job.
//!
//! The batch is sent by a task of its own, which takes batches until none is left: a caller
//! that gives up waiting (its future dropped) never leaves the others' reports unsent.

use std::sync::Mutex;

use hero_store::{Attempt, Claimed, Error, Finish, NextClaim, Result, TIMEOUT_GRACE};
use tokio::sync::oneshot;

use crate::connection::RedisStore;
use crate::scripts::{millis, now};

/// Most reports in one script call.
const MAX_BATCH: usize = 256;

/// Batches on their way at once. With one, a busy runner's slots wait for the batch in
/// flight while Redis sits idle between batches and the runner idle during them; a second
/// overlaps the two, and drains 10–25 % faster (`docs/benchmarks.md`). More made no
/// difference beyond the noise.
const MAX_SENDERS: usize = 2;

/// Most bytes of results in one script call (a single larger report still goes alone).
const MAX_BATCH_BYTES: usize = 1 << 20;

/// The reports waiting for the next batch, and how many tasks are sending batches.
#[derive(Debug, Default)]
pub(crate) struct Reports {
    state: Mutex<State>,
}

impl Reports {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every step under the lock is one push or take: the state stays whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug, Default)]
struct State {
    waiting: Vec<Report>,
    senders: usize,
}

#[derive(Debug)]
struct Report {
    worker: String,
    id: String,
    token: u64,
    status: &'static str,
    result: String,
    /// The queue to claim the worker's next job from, and the lease (ms) that claim renews.
    next: Option<(String, u64)>,
    done: oneshot::Sender<Result<Answer>>,
}

/// What the store said to one report: whether it took it, and the next job it claimed.
type Answer = (bool, Option<Claimed>);

/// One report's part of the script's answer: taken (1) or not (0), then the claimed job's
/// token, JSON and id when one was claimed.
type Reply = Vec<redis::Value>;

impl RedisStore {
    pub(crate) async fn finish(
        &self,
        worker: &str,
        attempt: &Attempt,
        finish: Finish,
    ) -> Result<bool> {
        Ok(self
            .finish_and_claim(worker, attempt, finish, None)
            .await?
            .0)
    }

    pub(crate) async fn finish_and_claim(
        &self,
        worker: &str,
        attempt: &Attempt,
        finish: Finish,
        next: Option<&NextClaim>,
    ) -> Result<Answer> {
        let result = serde_json::to_string(&finish.result).map_err(|e| Error::Corrupt {
            key: attempt.id.clone(),
            reason: e.to_string(),
        })?;
        let (done, answer) = oneshot::channel();
        let report = Report {
            worker: worker.to_owned(),
            id: attempt.id.clone(),
            token: attempt.token,
            status: finish.status.as_str(),
            result,
            next: next.map(|n| (n.queue.clone(), millis(n.lease))),
            done,
        };
        let start = {
            let mut state = self.inner.reports.lock();
            state.waiting.push(report);
            let start = state.senders < MAX_SENDERS;
            if start {
                state.senders += 1;
            }
            start
        };
        if start {
            tokio::spawn(self.clone().send_reports());
        }
        answer.await.unwrap_or_else(|_| {
            Err(Error::Unavailable {
                reason: format!("redis at {}: the report was not sent", self.inner.safe_url),
            })
        })
    }

    /// Sends batches until no report waits; up to [`MAX_SENDERS`] of these run at once, each
    /// with its own batch (the reports of one batch never depend on another's).
    async fn send_reports(self) {
        let mut sender = Sender {
            store: &self,
            finished: false,
        };
        loop {
            let batch = {
                let mut state = self.inner.reports.lock();
                if state.waiting.is_empty() {
                    state.senders -= 1;
                    sender.finished = true;
                    return;
                }
                take_batch(&mut state.waiting)
            };
            let outcome = self.finish_many(&batch).await;
            let mut replies = match outcome {
                Ok(replies) => replies.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(reason) => vec![Err(reason); batch.len()],
            };
            replies.resize_with(batch.len(), || Ok(Vec::new()));
            for (report, reply) in batch.into_iter().zip(replies) {
                let answer = match reply {
                    Ok(reply) => Ok(self.answer(&report.worker, reply)),
                    Err(reason) => Err(Error::Unavailable { reason }),
                };
                // A caller that gave up needs no answer.
                let _ = report.done.send(answer);
            }
        }
    }

    /// A report's answer from its part of the script's reply. A claimed job whose stored
    /// form cannot be read is reported failed under its own token, as a claim does: by
    /// another task, since that report goes through this sender.
    fn answer(&self, worker: &str, reply: Reply) -> Answer {
        let mut parts = reply.into_iter();
        let done = parts
            .next()
            .and_then(|v| redis::from_redis_value::<i64>(v).ok());
        let mut field = || {
            parts
                .next()
                .and_then(|v| redis::from_redis_value::<String>(v).ok())
        };
        let (Some(token), Some(json), Some(id)) = (
            field().and_then(|t| t.parse::<u64>().ok()),
            field(),
            field(),
        ) else {
            return (done == Some(1), None);
        };
        match serde_json::from_str(&json) {
            Ok(job) => (true, Some(Claimed { job, token })),
            Err(e) => {
                let (store, worker) = (self.clone(), worker.to_owned());
                tokio::spawn(async move {
                    store
                        .fail_unreadable(&worker, Attempt { id, token }, &e)
                        .await;
                });
                (true, None)
            }
        }
    }

    /// Each report's part of the reply, or why the batch was not recorded.
    async fn finish_many(&self, batch: &[Report]) -> std::result::Result<Vec<Reply>, String> {
        let keys = self.keys();
        let mut script = self.inner.scripts.finish_many.prepare_invoke();
        // The script reads no key it is given; this one names the namespace's slot, so a
        // cluster sends the batch to the node that serves it.
        script
            .key(keys.jobs())
            .arg(keys.prefix())
            .arg(now())
            .arg(keys.events())
            .arg(millis(TIMEOUT_GRACE));
        for report in batch {
            let (queue, lease) = report
                .next
                .as_ref()
                .map_or(("", 0), |(queue, lease)| (queue.as_str(), *lease));
            script
                .arg(&report.id)
                .arg(&report.worker)
                .arg(report.status)
                .arg(&report.result)
                .arg(report.token)
                .arg(queue)
                .arg(lease);
        }
        script
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| format!("redis at {}: {e}", self.inner.safe_url))
    }
}

/// The task sending batches. Dropped before it finished (its runtime shutting down), it lets
/// the next report start another; the reports of its batch get no answer, which their
/// callers take as the store being unavailable, and send again.
struct Sender<'a> {
    store: &'a RedisStore,
    finished: bool,
}

impl Drop for Sender<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.store.inner.reports.lock().senders -= 1;
        }
    }
}

/// The oldest waiting reports, within [`MAX_BATCH`] and [`MAX_BATCH_BYTES`] (at least one).
fn take_batch(waiting: &mut Vec<Report>) -> Vec<Report> {
    let mut bytes = 0;
    let mut n = 0;
    for report in waiting.iter() {
        bytes += report.result.len();
        if n > 0 && (n == MAX_BATCH || bytes > MAX_BATCH_BYTES) {
            break;
        }
        n += 1;
    }
    waiting.drain(..n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(result_len: usize) -> Report {
        Report {
            worker: "w".into(),
            id: "j".into(),
            token: 1,
            status: "completed",
            result: "x".repeat(result_len),
            next: None,
            done: oneshot::channel().0,
        }
    }

    #[test]
    fn a_batch_is_bounded_in_count_and_bytes_and_never_empty() {
        let mut waiting: Vec<Report> = (0..300).map(|_| report(10)).collect();
        assert_eq!(take_batch(&mut waiting).len(), MAX_BATCH);
        assert_eq!(take_batch(&mut waiting).len(), 300 - MAX_BATCH);
        let mut big: Vec<Report> = (0..3).map(|_| report(MAX_BATCH_BYTES)).collect();
        assert_eq!(
            take_batch(&mut big).len(),
            1,
            "an oversized report goes alone"
        );
        assert_eq!(big.len(), 2);
    }
}
