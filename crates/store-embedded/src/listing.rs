//! Listing jobs newest first through the listing indexes (by status, runner, caller,
//! context and owner), and counting jobs by status and queue from the counters kept beside
//! them: never by reading every job.

use std::collections::HashMap;

use hero_job::{JobRecord, JobStatus};
use hero_store::{Error, JobFilter, Result};

use crate::db::{EmbeddedStore, ReadTables, unavailable};
use crate::jobs::record;
use crate::tables::{Meta, by_status, meta, number};

/// One listing index read newest first: (creation ms, id) entries.
type Entries<'a> = Box<dyn Iterator<Item = Result<(i64, String)>> + 'a>;

impl EmbeddedStore {
    pub(crate) async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobRecord>> {
        let filter = filter.clone();
        self.read(move |t, _| list(t, &filter)).await
    }

    pub(crate) async fn job_counts(&self) -> Result<HashMap<JobStatus, u64>> {
        self.read(|t, _| {
            let mut counts = HashMap::new();
            for status in JobStatus::ALL {
                let n = number(&t.numbers, &format!("n:{}", by_status(status)))?;
                if n > 0 {
                    counts.insert(status, n);
                }
            }
            Ok(counts)
        })
        .await
    }

    pub(crate) async fn queue_len(&self, queue: &str) -> Result<u64> {
        let queue = queue.to_owned();
        self.read(move |t, _| number(&t.numbers, &format!("q:{queue}")))
            .await
    }
}

/// Reads the smallest index the filter names (or the status indexes, merged, or the index
/// of every job), checking every condition on each job's state, until `filter.limit` match.
fn list(t: &ReadTables, filter: &JobFilter) -> Result<Vec<JobRecord>> {
    let mut singles = Vec::new();
    if let [status] = filter.status.as_slice() {
        singles.push(by_status(*status));
    }
    singles.extend(filter.runner.as_ref().map(|r| format!("r:{r}")));
    singles.extend(filter.caller_id.as_ref().map(|c| format!("c:{c}")));
    singles.extend(filter.context_id.as_ref().map(|c| format!("x:{c}")));
    singles.extend(filter.owner.as_ref().map(|o| format!("o:{o}")));
    let sources = if !singles.is_empty() {
        let mut smallest = singles[0].clone();
        let mut size = u64::MAX;
        for name in singles {
            let n = number(&t.numbers, &format!("n:{name}"))?;
            if n < size {
                (smallest, size) = (name, n);
            }
        }
        vec![smallest]
    } else if filter.status.is_empty() {
        vec!["a".to_owned()]
    } else {
        let mut statuses = filter.status.clone();
        statuses.sort_by_key(|s| s.as_str());
        statuses.dedup();
        statuses.into_iter().map(by_status).collect()
    };
    // `before` pins the top of the range: jobs of its millisecond with an id not below it
    // are left out.
    let top = match &filter.before {
        Some(id) => {
            let m = meta(&t.meta, id)?.ok_or_else(|| Error::JobNotFound { id: id.clone() })?;
            Some((m.created_ms, id.clone()))
        }
        None => None,
    };
    let mut cursors = sources
        .iter()
        .map(|name| entries(t, name, top.as_ref()).map(Iterator::peekable))
        .collect::<Result<Vec<_>>>()?;
    let mut listed = Vec::new();
    while listed.len() < filter.limit {
        // The newest head among the sources; one source with many statuses merged.
        let mut best: Option<(usize, (i64, String))> = None;
        for (i, cursor) in cursors.iter_mut().enumerate() {
            match cursor.peek() {
                Some(Ok(head)) if best.as_ref().is_none_or(|(_, b)| head > b) => {
                    best = Some((i, head.clone()));
                }
                Some(Err(_)) => {
                    if let Some(Err(e)) = cursor.next() {
                        return Err(e);
                    }
                }
                _ => {}
            }
        }
        let Some((i, (_, id))) = best else {
            break;
        };
        cursors[i].next();
        let Some(m) = meta(&t.meta, &id)? else {
            continue;
        };
        if matches(filter, &m)
            && let Some(record) = record(&t.meta, &t.body, &t.results, &id)?
        {
            listed.push(record);
        }
    }
    Ok(listed)
}

fn entries<'a>(
    t: &'a ReadTables,
    name: &'a str,
    top: Option<&'a (i64, String)>,
) -> Result<Entries<'a>> {
    let low = (name, i64::MIN, "");
    let range = match top {
        Some((ms, id)) => t.index.range(low..(name, *ms, id.as_str())),
        None => t.index.range(low..=(name, i64::MAX, "\u{10FFFF}")),
    }
    .map_err(unavailable)?;
    Ok(Box::new(range.rev().map(|entry| {
        let (key, _) = entry.map_err(unavailable)?;
        let (_, ms, id) = key.value();
        Ok((ms, id.to_owned()))
    })))
}

fn matches(filter: &JobFilter, m: &Meta) -> bool {
    (filter.status.is_empty() || filter.status.contains(&m.status))
        && filter.runner.as_ref().is_none_or(|r| *r == m.runner)
        && filter.caller_id.as_ref().is_none_or(|c| *c == m.caller)
        && filter.context_id.as_ref().is_none_or(|c| *c == m.context)
        && filter
            .owner
            .as_ref()
            .is_none_or(|o| Some(o) == m.owner.as_ref())
}
