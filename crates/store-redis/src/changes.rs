//! Reading the job changes announced on `{namespace}:v1:changes` (see
//! `docs/runner-protocol.md`, "Job changes").
//!
//! A message is `KIND\nAT_MS\nID RUNNER OWNER[ MS][\nID RUNNER OWNER[ MS]…]`: one kind and
//! one time for every job of the script call that made it (a claim of ten jobs is one
//! message). KIND is a status, `deleted`, or `progress`, whose one job line is followed by the
//! progress JSON. OWNER is empty for a job stored without one. MS, when present, is the job's
//! wait (on `running`) or run time (on a final status) in milliseconds.

use std::sync::Arc;

use chrono::DateTime;
use hero_job::{EventStatus, Progress};
use hero_store::JobChange;

/// The changes `payload` announces; `None` when it is not a well-formed announcement.
pub(crate) fn parse(payload: &str) -> Option<Vec<Arc<JobChange>>> {
    let mut lines = payload.split('\n');
    let kind = lines.next()?;
    let at = DateTime::from_timestamp_millis(lines.next()?.parse().ok()?)?;
    if kind == "progress" {
        let line = job_line(lines.next()?)?;
        let json = payload.splitn(4, '\n').nth(3)?;
        let progress: Progress = serde_json::from_str(json).ok()?;
        return Some(vec![Arc::new(JobChange {
            id: line.id,
            runner: line.runner,
            owner: line.owner,
            status: EventStatus::Running,
            progress: Some(progress),
            at,
            elapsed_ms: None,
        })]);
    }
    let status = EventStatus::parse(kind)?;
    lines
        .map(|line| {
            let line = job_line(line)?;
            Some(Arc::new(JobChange {
                id: line.id,
                runner: line.runner,
                owner: line.owner,
                status,
                progress: None,
                at,
                elapsed_ms: line.elapsed_ms,
            }))
        })
        .collect()
}

/// One job line's fields.
struct JobLine {
    id: String,
    runner: String,
    owner: Option<String>,
    elapsed_ms: Option<u64>,
}

fn job_line(line: &str) -> Option<JobLine> {
    let mut fields = line.split(' ');
    let id = fields.next().filter(|id| !id.is_empty())?;
    let runner = fields.next()?;
    let owner = fields.next().filter(|owner| !owner.is_empty());
    // Fields after the ones known here are for later readers: ignored, like a missing one.
    let elapsed_ms = fields.next().and_then(|ms| ms.parse().ok());
    Some(JobLine {
        id: id.to_owned(),
        runner: runner.to_owned(),
        owner: owner.map(str::to_owned),
        elapsed_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_message_gives_one_change_per_job_line() {
        let changes = parse("running\n1764590400000\na r1 o1\nb r1 ").unwrap();
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].id, "a");
        assert_eq!(changes[0].runner, "r1");
        assert_eq!(changes[0].owner.as_deref(), Some("o1"));
        assert_eq!(changes[0].status, EventStatus::Running);
        assert_eq!(changes[0].at.timestamp_millis(), 1_764_590_400_000);
        assert_eq!(changes[0].elapsed_ms, None);
        assert_eq!(changes[1].owner, None);
    }

    #[test]
    fn a_claim_line_carries_the_wait_and_a_final_line_the_run_time() {
        let claimed = parse("running\n5\na r1 o1 120\nb r1  7").unwrap();
        assert_eq!(claimed[0].owner.as_deref(), Some("o1"));
        assert_eq!(claimed[0].elapsed_ms, Some(120));
        assert_eq!(claimed[1].owner, None);
        assert_eq!(claimed[1].elapsed_ms, Some(7));
        let ended = parse("failed\n5\na r1 o1 3000").unwrap();
        assert_eq!(ended[0].status, EventStatus::Failed);
        assert_eq!(ended[0].elapsed_ms, Some(3000));
    }

    #[test]
    fn an_unreadable_or_later_field_after_the_owner_is_ignored() {
        let changes = parse("completed\n5\na r1 o1 soon\nb r1 o2 9 extra").unwrap();
        assert_eq!(changes[0].owner.as_deref(), Some("o1"));
        assert_eq!(changes[0].elapsed_ms, None);
        assert_eq!(changes[1].owner.as_deref(), Some("o2"));
        assert_eq!(changes[1].elapsed_ms, Some(9));
    }

    #[test]
    fn a_progress_message_carries_its_json_even_across_lines() {
        let changes =
            parse("progress\n5\nj r o\n{\"percent\": 50,\n\"message\": \"half\"}").unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].status, EventStatus::Running);
        assert_eq!(changes[0].progress, Some(Progress::new(50, "half")));
    }

    #[test]
    fn deletions_are_read_and_malformed_messages_refused() {
        let deleted = parse("deleted\n5\nj r o").unwrap();
        assert_eq!(deleted[0].status, EventStatus::Deleted);
        for bad in [
            "",
            "done\n5\nj r o",
            "queued\nsoon\nj r o",
            "queued\n5\n",
            "progress\n5\nj r o",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }
}
