//! Behaviour every [`Store`] must show, as checks a store's own tests run.
//!
//! Each check uses fresh ids and queue names, so the checks can share one store instance.
//! A failed check panics with a message saying what was expected. Every check runs through
//! [`Audited`], which fails on any change of a job's status that
//! [`JobStatus::can_become`] forbids: the store's scripts and the job's life cycle cannot
//! drift apart.
//!
//! The checks are grouped by concept: `jobs`, `claims`, `fencing` (attempt tokens and claims
//! cut in two), `progress`, `events`, `reaper`, `retention` (expiry and counts),
//! `runners`, `scheduling`, `schedules`, `secrets` and `stats` (the counters of `/metrics`);
//! `audited` holds [`Audited`].
//!
//! ```ignore
//! #[tokio::test]
//! async fn redis_store_conforms() {
//!     let store = my_store().await;
//!     hero_store::conformance::run_all(Arc::new(store.clone()), &MyFaults(store)).await;
//! }
//! ```

mod audited;
mod claims;
mod events;
mod fencing;
mod jobs;
mod listing;
mod progress;
mod reaper;
mod retention;
mod runners;
mod schedules;
mod scheduling;
mod secrets;
mod stats;

pub use audited::Audited;
pub use claims::{
    a_batch_claim_takes_the_oldest_jobs_in_order, a_report_brings_the_next_job_of_its_queue,
    claim_takes_the_oldest_job_and_marks_it_running, ended_job_refuses_the_runners_late_report,
    finish_records_the_result_once, heartbeat_tells_a_worker_to_give_up_jobs_it_no_longer_holds,
    reports_sent_at_once_are_each_answered_for_their_own_run,
};
pub use events::every_change_of_a_job_reaches_a_watcher;
pub use fencing::{
    a_claim_never_marks_a_job_created_again_for_another_runner,
    a_late_claim_does_not_mark_an_id_the_heartbeat_returned,
    a_moved_but_unmarked_id_returns_to_its_queue_while_its_worker_lives,
    a_refused_report_leaves_a_new_claim_of_its_id_alone,
    a_report_of_an_older_attempt_after_a_requeue_is_refused,
    a_reused_id_never_gets_the_deleted_jobs_report,
    a_run_whose_claim_reply_was_lost_returns_to_its_queue_after_a_lease,
    a_stop_is_confirmed_only_by_the_run_it_reached,
    an_unreadable_job_fails_alone_and_the_rest_of_its_batch_runs,
};
pub use jobs::{
    a_run_jobs_record_is_the_stored_one, created_job_reads_back_unchanged,
    delete_removes_the_job_and_its_queue_entry, duplicate_id_is_a_conflict,
    ending_a_job_follows_its_allowed_transitions, job_counts_cover_every_status,
    list_includes_every_job, start_queues_once, stop_of_a_queued_job_takes_it_off_the_queue,
    stop_of_a_running_job_is_requested_through_the_heartbeat,
    submitting_many_jobs_stores_all_in_order_or_none, wait_final_wakes_on_finish,
};
pub use listing::{
    every_status_change_moves_the_job_between_listings,
    jobs_submitted_together_are_listed_under_each_of_their_own_fields,
    listing_is_newest_first_and_pages_with_before,
};
pub use progress::{
    progress_of_an_older_attempt_or_another_worker_is_ignored,
    progress_of_the_current_run_is_kept_and_refused_after_the_end,
};
pub use reaper::{
    a_job_running_past_its_timeout_fails_whatever_its_worker_does,
    a_job_that_loses_its_runner_twice_fails_whatever_its_retries,
    a_job_whose_worker_lost_its_lease_fails_as_runner_lost,
    a_job_with_retries_is_requeued_when_its_worker_is_lost,
    a_lost_job_whose_stop_was_asked_ends_stopped,
};
pub use retention::{
    a_finished_job_past_its_retention_is_gone_with_its_index_entries,
    a_job_created_again_under_a_deleted_ids_name_outlives_the_old_retention,
    job_counts_match_the_jobs_after_every_kind_of_change,
};
pub use runners::{
    a_registration_keeps_its_access_until_unregistered,
    runners_register_once_and_are_seen_when_they_claim,
};
pub use schedules::{
    a_schedule_is_stored_once_and_deleted_only_by_its_owner,
    a_store_holds_at_most_the_schedules_it_is_given, a_tick_is_claimed_once_when_two_stores_race,
    each_tick_is_claimed_once,
};
pub use scheduling::{
    a_blocked_claim_wakes_for_a_priority_job, a_delayed_job_is_claimable_only_once_due,
    a_failed_or_stopped_job_can_be_queued_again,
    a_failed_run_that_asks_for_retries_backs_off_then_runs_again,
    a_job_past_its_deadline_that_asks_for_retries_is_scheduled_again,
    a_lost_priority_job_returns_to_the_front_of_its_priority,
    higher_priorities_are_claimed_first_and_in_order_within_one,
};
pub use secrets::{
    a_job_keeps_its_owner_out_of_sight,
    another_owners_start_stop_or_delete_is_not_found_and_changes_nothing,
    secret_grants_persist_and_announce_themselves, the_last_admin_secret_keeps_its_level,
};
pub use stats::{
    a_claim_announces_the_wait_and_an_end_the_run_time,
    a_job_queued_later_waits_from_when_it_was_queued,
    job_counters_count_each_submission_and_end_once,
    worker_stats_disappear_when_their_worker_stops_writing,
};

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use hero_job::{Job, JobStatus};

use crate::{Attempt, Claimed, Finish, Store};

const LEASE: Duration = Duration::from_secs(30);
const NO_WAIT: Duration = Duration::from_millis(50);
/// Long enough that only a wake-up, not a poll, can end the wait in time.
const LONG_WAIT: Duration = Duration::from_secs(30);

/// Faults a store's own test injects that the [`Store`] trait cannot express: a claim cut in
/// two, as when the reply of its second step is lost, and a damaged job record.
#[async_trait]
pub trait Faults: Send + Sync {
    /// The first half of a claim whose second half never runs: moves the oldest id of `queue`
    /// into `worker`'s in-flight set without marking the job running (with Redis: `BLMOVE`
    /// without `claim.lua`). `None` when the queue is empty or the store has no such split.
    async fn move_without_marking(&self, queue: &str, worker: &str) -> Option<String>;

    /// The second half of such a claim, arriving late: marks `moved` running for `worker` if
    /// it is still in the worker's in-flight set, then claims up to `most` jobs in all from
    /// `queue` as [`Store::claim`] does, with lease `lease`.
    async fn mark_moved(
        &self,
        queue: &str,
        worker: &str,
        moved: &str,
        lease: Duration,
        most: usize,
    ) -> Vec<Claimed>;

    /// Makes the stored form of job `id` unreadable, as a damaged record would be. `false`
    /// when the store cannot.
    async fn corrupt_job(&self, id: &str) -> bool;
}

/// Runs every check in turn, each through [`Audited`] but the one that damages a job record
/// (the audit reads every job).
pub async fn run_all(store: Arc<dyn Store>, faults: &dyn Faults) {
    an_unreadable_job_fails_alone_and_the_rest_of_its_batch_runs(&*store, faults).await;
    a_blocked_claim_wakes_for_a_priority_job(&*store).await;
    // Not audited: `run_job` stores a job the audit does not see stored.
    a_run_jobs_record_is_the_stored_one(&*store).await;
    let audited = Audited::new(store);
    let store: &dyn Store = &audited;
    created_job_reads_back_unchanged(store).await;
    duplicate_id_is_a_conflict(store).await;
    start_queues_once(store).await;
    claim_takes_the_oldest_job_and_marks_it_running(store).await;
    a_batch_claim_takes_the_oldest_jobs_in_order(store).await;
    finish_records_the_result_once(store).await;
    reports_sent_at_once_are_each_answered_for_their_own_run(store).await;
    a_report_brings_the_next_job_of_its_queue(store).await;
    wait_final_wakes_on_finish(store).await;
    stop_of_a_queued_job_takes_it_off_the_queue(store).await;
    stop_of_a_running_job_is_requested_through_the_heartbeat(store).await;
    ended_job_refuses_the_runners_late_report(store).await;
    heartbeat_tells_a_worker_to_give_up_jobs_it_no_longer_holds(store).await;
    delete_removes_the_job_and_its_queue_entry(store).await;
    list_includes_every_job(store).await;
    submitting_many_jobs_stores_all_in_order_or_none(store).await;
    runners_register_once_and_are_seen_when_they_claim(store).await;
    secret_grants_persist_and_announce_themselves(store).await;
    the_last_admin_secret_keeps_its_level(store).await;
    job_counts_cover_every_status(store).await;
    a_job_whose_worker_lost_its_lease_fails_as_runner_lost(store).await;
    a_job_with_retries_is_requeued_when_its_worker_is_lost(store).await;
    a_job_running_past_its_timeout_fails_whatever_its_worker_does(store).await;
    a_lost_job_whose_stop_was_asked_ends_stopped(store).await;
    a_job_keeps_its_owner_out_of_sight(store).await;
    a_registration_keeps_its_access_until_unregistered(store).await;
    a_report_of_an_older_attempt_after_a_requeue_is_refused(store).await;
    a_reused_id_never_gets_the_deleted_jobs_report(store).await;
    a_stop_is_confirmed_only_by_the_run_it_reached(store).await;
    a_job_that_loses_its_runner_twice_fails_whatever_its_retries(store).await;
    ending_a_job_follows_its_allowed_transitions(store).await;
    a_moved_but_unmarked_id_returns_to_its_queue_while_its_worker_lives(store, faults).await;
    a_late_claim_does_not_mark_an_id_the_heartbeat_returned(store, faults).await;
    a_refused_report_leaves_a_new_claim_of_its_id_alone(store, faults).await;
    a_claim_never_marks_a_job_created_again_for_another_runner(store, faults).await;
    a_run_whose_claim_reply_was_lost_returns_to_its_queue_after_a_lease(store).await;
    another_owners_start_stop_or_delete_is_not_found_and_changes_nothing(store).await;
    progress_of_the_current_run_is_kept_and_refused_after_the_end(store).await;
    progress_of_an_older_attempt_or_another_worker_is_ignored(store).await;
    every_status_change_moves_the_job_between_listings(store).await;
    listing_is_newest_first_and_pages_with_before(store).await;
    jobs_submitted_together_are_listed_under_each_of_their_own_fields(store).await;
    a_finished_job_past_its_retention_is_gone_with_its_index_entries(store).await;
    a_job_created_again_under_a_deleted_ids_name_outlives_the_old_retention(store).await;
    job_counts_match_the_jobs_after_every_kind_of_change(store).await;
    every_change_of_a_job_reaches_a_watcher(store).await;
    job_counters_count_each_submission_and_end_once(store).await;
    a_claim_announces_the_wait_and_an_end_the_run_time(store).await;
    a_job_queued_later_waits_from_when_it_was_queued(store).await;
    worker_stats_disappear_when_their_worker_stops_writing(store).await;
    a_schedule_is_stored_once_and_deleted_only_by_its_owner(store).await;
    a_store_holds_at_most_the_schedules_it_is_given(store).await;
    each_tick_is_claimed_once(store).await;
    a_delayed_job_is_claimable_only_once_due(store).await;
    higher_priorities_are_claimed_first_and_in_order_within_one(store).await;
    a_lost_priority_job_returns_to_the_front_of_its_priority(store).await;
    a_failed_run_that_asks_for_retries_backs_off_then_runs_again(store).await;
    a_failed_or_stopped_job_can_be_queued_again(store).await;
}

fn fresh_job(queue: &str) -> Job {
    let now = Utc::now();
    Job {
        id: uuid::Uuid::new_v4().to_string(),
        caller_id: "conformance".into(),
        context_id: "ctx".into(),
        payload: "40 + 2".into(),
        executor: "osis".into(),
        runner: queue.into(),
        timeout: 60,
        env_vars: [("K".to_owned(), "v".to_owned())].into(),
        retries: 0,
        delay: None,
        run_at: None,
        priority: 0,
        retry_on_error: false,
        retry_backoff_secs: hero_job::DEFAULT_RETRY_BACKOFF_SECS,
        level: hero_job::Level::User,
        created_at: now,
        updated_at: now,
    }
}

fn fresh_queue() -> String {
    format!("conformance-{}", uuid::Uuid::new_v4().simple())
}

/// A worker's report on `attempt`: true when the store took it.
async fn report(store: &dyn Store, worker: &str, attempt: &Attempt, finish: Finish) -> bool {
    store
        .finish(worker, attempt, finish)
        .await
        .expect("finish answers")
}

async fn status_of(store: &dyn Store, id: &str) -> JobStatus {
    store.job(id).await.expect("job exists").status
}

async fn claim_now(store: &dyn Store, queue: &str, worker: &str) -> Option<Claimed> {
    let mut jobs = store
        .claim(queue, worker, LEASE, NO_WAIT, 1)
        .await
        .expect("claim answers");
    assert!(jobs.len() <= 1, "a claim of one returned {}", jobs.len());
    jobs.pop()
}

/// Claims the one job queued on `queue` for `worker` with a lease that expires at once, as if
/// the worker died right after claiming it; returns the claim.
async fn claim_and_lose(store: &dyn Store, queue: &str, worker: &str) -> Claimed {
    let mut claimed = store
        .claim(queue, worker, Duration::from_millis(1), NO_WAIT, 1)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1, "one job was queued");
    claimed.remove(0)
}

/// Reaps until `id` leaves `status`, or panics after [`LONG_WAIT`].
async fn reap_while(store: &dyn Store, id: &str, status: JobStatus) {
    let deadline = tokio::time::Instant::now() + LONG_WAIT;
    while status_of(store, id).await == status {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job stayed {status:?}: never reaped"
        );
        store.reap_expired().await.expect("reap");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
