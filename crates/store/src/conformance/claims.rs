//! Checks on claims: first in, first out, batches, one final report, and the heartbeat
//! telling a worker which of its jobs it no longer holds.

use hero_job::{Job, JobResult, JobStatus};

use super::{LEASE, LONG_WAIT, NO_WAIT, claim_now, fresh_job, fresh_queue};
use crate::{Finish, Store};

/// Claims are first in, first out, and mark the job running.
pub async fn claim_takes_the_oldest_job_and_marks_it_running(store: &dyn Store) {
    let queue = fresh_queue();
    let first = fresh_job(&queue);
    let second = fresh_job(&queue);
    store.submit_job(&first, None).await.expect("submit");
    store.submit_job(&second, None).await.expect("submit");
    let claimed = claim_now(store, &queue, "w1").await.expect("a job");
    assert_eq!(claimed.job.id, first.id);
    let record = store.job(&first.id).await.expect("read");
    assert_eq!(record.status, JobStatus::Running);
    assert!(record.started_at.is_some());
    assert_eq!(
        claim_now(store, &queue, "w1").await.map(|c| c.job.id),
        Some(second.id)
    );
    assert_eq!(claim_now(store, &queue, "w1").await, None);
}

/// A claim of several takes at most that many, oldest first, and skips stopped jobs.
pub async fn a_batch_claim_takes_the_oldest_jobs_in_order(store: &dyn Store) {
    let queue = fresh_queue();
    let jobs: Vec<Job> = (0..4).map(|_| fresh_job(&queue)).collect();
    for job in &jobs {
        store.submit_job(job, None).await.expect("submit");
    }
    store.stop_job(&jobs[1].id, None).await.expect("stop");
    let claimed = store
        .claim(&queue, "w1", LEASE, NO_WAIT, 2)
        .await
        .expect("claim");
    let ids: Vec<&str> = claimed.iter().map(|c| c.job.id.as_str()).collect();
    assert_ne!(
        claimed[0].token, claimed[1].token,
        "each claim has its own token"
    );
    assert_eq!(ids, [jobs[0].id.as_str(), jobs[2].id.as_str()]);
    let rest = store
        .claim(&queue, "w1", LEASE, LONG_WAIT, 10)
        .await
        .expect("claim");
    assert_eq!(rest.len(), 1, "one job was left");
    assert_eq!(rest[0].job.id, jobs[3].id);
}

/// Reports sent at once are each recorded or refused on their own: one refused (a token of
/// no run) costs the others nothing, and each accepted one records its own result.
pub async fn reports_sent_at_once_are_each_answered_for_their_own_run(store: &dyn Store) {
    let queue = fresh_queue();
    let jobs: Vec<Job> = (0..20).map(|_| fresh_job(&queue)).collect();
    store.submit_jobs(&jobs, None, true).await.expect("submit");
    let claimed = store
        .claim(&queue, "w1", LEASE, NO_WAIT, jobs.len())
        .await
        .expect("claim");
    assert_eq!(claimed.len(), jobs.len());
    let reports = claimed.iter().enumerate().map(|(i, claim)| {
        let mut attempt = claim.attempt();
        if i % 2 == 1 {
            attempt.token += 1_000_000;
        }
        async move {
            let finish = Finish::completed(format!("out {i}"));
            (i, store.finish("w1", &attempt, finish).await)
        }
    });
    for (i, outcome) in futures::future::join_all(reports).await {
        assert_eq!(outcome.expect("answered"), i % 2 == 0, "report {i}");
        let record = store.job(&claimed[i].job.id).await.expect("read");
        if i % 2 == 0 {
            assert_eq!(record.status, JobStatus::Completed);
            assert_eq!(record.result, Some(JobResult::success(format!("out {i}"))));
        } else {
            assert_eq!(
                record.status,
                JobStatus::Running,
                "refused: job {i} runs on"
            );
        }
    }
}

/// A report that asks for the next job gets the oldest queued one, running under a token of
/// its own; a refused report, or one on an empty queue, claims nothing.
pub async fn a_report_brings_the_next_job_of_its_queue(store: &dyn Store) {
    let queue = fresh_queue();
    let jobs: Vec<Job> = (0..3).map(|_| fresh_job(&queue)).collect();
    store.submit_jobs(&jobs, None, true).await.expect("submit");
    let first = claim_now(store, &queue, "w1").await.expect("a job");
    let next = crate::NextClaim {
        queue: queue.clone(),
        lease: LEASE,
    };
    let stale = crate::Attempt {
        id: first.job.id.clone(),
        token: first.token + 1_000_000,
    };
    let (took, claimed) = store
        .finish_and_claim("w1", &stale, Finish::completed("x"), Some(&next))
        .await
        .expect("report");
    assert!(
        !took && claimed.is_none(),
        "a refused report claims nothing"
    );
    let (took, second) = store
        .finish_and_claim("w1", &first.attempt(), Finish::completed("1"), Some(&next))
        .await
        .expect("report");
    assert!(took);
    let second = second.expect("the next job comes with the report");
    assert_eq!(second.job.id, jobs[1].id, "oldest first");
    assert_ne!(second.token, first.token);
    let record = store.job(&second.job.id).await.expect("read");
    assert_eq!(record.status, JobStatus::Running);
    let (took, none) = store
        .finish_and_claim("w1", &second.attempt(), Finish::completed("2"), None)
        .await
        .expect("report");
    assert!(took && none.is_none(), "no next job unless asked");
    let third = claim_now(store, &queue, "w1").await.expect("the last job");
    let (took, after) = store
        .finish_and_claim("w1", &third.attempt(), Finish::completed("3"), Some(&next))
        .await
        .expect("report");
    assert!(took && after.is_none(), "an empty queue brings nothing");
    for (job, output) in jobs.iter().zip(["1", "2", "3"]) {
        let record = store.job(&job.id).await.expect("read");
        assert_eq!(record.result, Some(JobResult::success(output)));
    }
}

/// The first report is final; a second one changes nothing.
pub async fn finish_records_the_result_once(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.submit_job(&job, None).await.expect("submit");
    let attempt = claim_now(store, &queue, "w1")
        .await
        .expect("a job")
        .attempt();
    let done = store
        .finish("w1", &attempt, Finish::completed("42"))
        .await
        .expect("finish");
    assert!(done);
    let again = store
        .finish("w1", &attempt, Finish::failed("late"))
        .await
        .expect("finish");
    assert!(!again, "a second report must be refused");
    let record = store.job(&job.id).await.expect("read");
    assert_eq!(record.status, JobStatus::Completed);
    assert_eq!(record.result, Some(JobResult::success("42")));
    assert!(record.completed_at.is_some());
}

/// A job ended or deleted behind its worker's back is named by the next heartbeat, so the
/// worker stops executing it.
pub async fn heartbeat_tells_a_worker_to_give_up_jobs_it_no_longer_holds(store: &dyn Store) {
    let queue = fresh_queue();
    let ended = fresh_job(&queue);
    let deleted = fresh_job(&queue);
    let kept = fresh_job(&queue);
    for job in [&ended, &deleted, &kept] {
        store.submit_job(job, None).await.expect("submit");
    }
    let worker = format!("{queue}-w");
    let mut running = Vec::new();
    for _ in 0..3 {
        running.push(
            claim_now(store, &queue, &worker)
                .await
                .expect("a job")
                .attempt(),
        );
    }
    store
        .end_job(&ended.id, Finish::failed("timed out"))
        .await
        .expect("end");
    store.delete_job(&deleted.id, None).await.expect("delete");
    let mut give_up: Vec<String> = store
        .heartbeat(&worker, LEASE, &running)
        .await
        .expect("beat")
        .into_iter()
        .map(|attempt| attempt.id)
        .collect();
    give_up.sort();
    let mut expected = vec![ended.id.clone(), deleted.id.clone()];
    expected.sort();
    assert_eq!(give_up, expected);
    let kept = running[2].clone();
    let other = store
        .heartbeat("someone-else", LEASE, std::slice::from_ref(&kept))
        .await
        .expect("beat");
    assert_eq!(other, vec![kept], "a job held by another worker");
}

/// `end_job` wins over a runner that reports afterwards.
pub async fn ended_job_refuses_the_runners_late_report(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.submit_job(&job, None).await.expect("submit");
    let attempt = claim_now(store, &queue, "w1")
        .await
        .expect("a job")
        .attempt();
    let ended = store
        .end_job(&job.id, Finish::failed("timed out"))
        .await
        .expect("end");
    assert_eq!(ended.status, JobStatus::Failed);
    let late = store
        .finish("w1", &attempt, Finish::completed("late"))
        .await
        .expect("finish");
    assert!(!late);
    let again = store
        .end_job(&job.id, Finish::stopped("stop"))
        .await
        .expect("end");
    assert_eq!(
        again.status,
        JobStatus::Failed,
        "the first final state stands"
    );
    assert_eq!(again.result, Some(JobResult::error("timed out")));
}
