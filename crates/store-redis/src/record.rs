//! Reading a job hash back into a `JobRecord`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hero_job::{Job, JobRecord, JobResult, JobStatus, Progress};
use hero_store::Error;

/// Builds the record from a job hash's fields; `None` when the hash is empty (no such job).
pub(crate) fn from_fields(
    id: &str,
    mut fields: HashMap<String, String>,
) -> Result<Option<JobRecord>, Error> {
    if fields.is_empty() {
        return Ok(None);
    }
    let corrupt = |reason: String| Error::Corrupt {
        key: id.to_owned(),
        reason,
    };
    let job_json = fields
        .remove("job")
        .ok_or_else(|| corrupt("no `job` field".into()))?;
    let job: Job =
        serde_json::from_str(&job_json).map_err(|e| corrupt(format!("job json: {e}")))?;
    with_job(id, job, fields).map(Some)
}

/// Builds the record of `job` from the other fields of its hash.
pub(crate) fn with_job(
    id: &str,
    mut job: Job,
    mut fields: HashMap<String, String>,
) -> Result<JobRecord, Error> {
    let corrupt = |reason: String| Error::Corrupt {
        key: id.to_owned(),
        reason,
    };
    let status: JobStatus = fields
        .get("status")
        .ok_or_else(|| corrupt("no `status` field".into()))?
        .parse()
        .map_err(|e| corrupt(format!("{e}")))?;
    if let Some(updated) = time(&fields, "updated_at").map_err(corrupt)? {
        job.updated_at = updated;
    }
    let result = match fields.get("result") {
        Some(json) => Some(
            serde_json::from_str::<JobResult>(json)
                .map_err(|e| corrupt(format!("result json: {e}")))?,
        ),
        None => None,
    };
    // Written by runners, possibly third-party ones: advisory, so a value that cannot be read
    // is no progress rather than an unreadable job, and one out of bounds is brought in.
    let progress = fields
        .get("progress")
        .and_then(|json| serde_json::from_str::<Progress>(json).ok())
        .map(|read| Progress::new(read.percent, read.message));
    let count = |name: &str| {
        fields
            .get(name)
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let started_at = time(&fields, "started_at").map_err(corrupt)?;
    // Runs before this one: again after an error, and again after a lost runner. A run is
    // under way or ended when the job has a claim time (cleared when it goes back to wait).
    let attempt = count("errors") + count("requeues") + u32::from(started_at.is_some());
    Ok(JobRecord {
        job,
        status,
        started_at,
        completed_at: time(&fields, "completed_at").map_err(corrupt)?,
        result,
        owner: fields.remove("owner"),
        progress,
        attempt,
        last_error: fields.remove("last_error"),
    })
}

/// Reads a registered runner's JSON record back.
pub(crate) fn runner(name: String, json: &str) -> Result<hero_store::RunnerRecord, Error> {
    #[derive(serde::Deserialize)]
    struct Stored {
        queue: String,
        // Registrations from before per-runner access are open to users, as they were.
        #[serde(default)]
        access: hero_store::RunnerAccess,
        registered_at: DateTime<Utc>,
    }
    let stored: Stored = serde_json::from_str(json).map_err(|e| Error::Corrupt {
        key: name.clone(),
        reason: format!("runner record: {e}"),
    })?;
    Ok(hero_store::RunnerRecord {
        name,
        queue: stored.queue,
        access: stored.access,
        registered_at: stored.registered_at,
    })
}

fn time(fields: &HashMap<String, String>, name: &str) -> Result<Option<DateTime<Utc>>, String> {
    fields
        .get(name)
        .map(|text| {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| format!("{name}: {e}"))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_hash_is_no_job() {
        assert_eq!(from_fields("x", HashMap::new()).unwrap(), None);
    }

    fn job_fields(progress: &str) -> HashMap<String, String> {
        let job = hero_job::JobBuilder::new()
            .id("x")
            .payload("1")
            .executor("osis")
            .runner("r")
            .build()
            .expect("a valid job");
        HashMap::from([
            ("job".to_owned(), serde_json::to_string(&job).expect("json")),
            ("status".to_owned(), "running".to_owned()),
            ("progress".to_owned(), progress.to_owned()),
        ])
    }

    #[test]
    fn a_runners_unreadable_or_oversized_progress_never_hides_the_job() {
        let unreadable = from_fields("x", job_fields("not json")).unwrap().unwrap();
        assert_eq!(unreadable.progress, None);
        let long = format!(r#"{{"percent": 250, "message": "{}"}}"#, "m".repeat(5000));
        let clamped = from_fields("x", job_fields(&long)).unwrap().unwrap();
        assert_eq!(
            clamped.progress,
            Some(Progress::new(
                100,
                "m".repeat(hero_job::MAX_PROGRESS_MESSAGE_BYTES)
            ))
        );
    }

    #[test]
    fn a_hash_without_status_is_corrupt() {
        let fields = HashMap::from([("job".to_owned(), "{}".to_owned())]);
        assert!(matches!(
            from_fields("x", fields),
            Err(Error::Corrupt { .. })
        ));
    }
}
