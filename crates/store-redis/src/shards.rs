//! A namespace spread over every master of a Redis Cluster: [`ClusterStore`].
//!
//! Each runner's queue, its jobs and everything a script changes with them form the runner's
//! **shard**, whose keys carry the hash tag `{namespace/runner}` (`Keys::shard`): one slot per
//! runner, so different runners' queues fall on different masters and a drain over several
//! runners is no longer bound by one master. A shard is a [`RedisStore`] of its own, with every script
//! as on one Redis. What is no runner's (secrets, registrations, schedules) stays in the
//! namespace's own slot, `{namespace}:v1:`, beside two keys of the layout:
//!
//! - the **directory** (`dir`), job id → runner, so a job is found by its id alone. A submit
//!   reserves the id there first (`lua/reserve.lua`, every id of a batch or none) and stores
//!   the job in its shard second: a job exists once the second step ran, so a crash between
//!   them leaves an entry whose job is not found, as if the submit never happened, and a retry
//!   of it with the same runner goes on. A delete, and retention, remove the job first and
//!   the entry after (`lua/unreserve.lua`).
//! - the set of **shards** (`shards`), for whatever reads every job: listings without a
//!   runner (each shard's newest, merged), counts, the reaper, the promoter.
//!
//! The channels stay the namespace's, so one subscription hears every shard.
//!
//! Runners need no directory: a worker claims from its runner's shard and reports to it. The
//! shard of a worker is the queue it claimed from, as this process saw it or as a claim
//! recorded it in `{namespace}:v1:wqueue:WORKER`, else the name it carries (`QUEUE-SUFFIX`, as
//! the runner SDK names its workers).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::{join_all, try_join_all};
use hero_job::{Job, JobRecord, JobResult, JobStatus, Progress};
use hero_store::{
    Attempt, Claimed, Error, Finish, JobFilter, JobStats, NextClaim, Promoted, Reaped, Result,
    Retention, RunnerLoad, RunnerRecord, ScheduleRecord, StopOutcome, Store, TickClaim, Watched,
    WorkerStats,
};

use crate::connection::{RedisStore, check_namespace, redact_url};
use crate::durability::Durability;
use crate::jobs::refuse_twins;
use crate::keys::Keys;
use crate::target::Target;

/// How old a directory entry whose job its shard lacks must be before another runner may take
/// its id: far longer than a submit takes between reserving an id and storing its job (even
/// ten chunks each waiting for a replica), so an entry taken over is one whose submit stopped
/// between the two, never acknowledged.
const STALE_RESERVATION: Duration = Duration::from_secs(600);

/// How often a process using a shard adds it to `shards` again: should a failover of the
/// namespace's master lose the first addition, the reaper and the promoter find the shard
/// again within this.
const ANNOUNCE_EVERY: Duration = Duration::from_secs(30);

/// How long the record of the queue a worker claims from is kept in Redis, for a process that
/// relays the worker's reports without having relayed its claims.
const WORKER_QUEUE_TTL: Duration = Duration::from_secs(7 * 86_400);

/// Workers whose queue a store remembers; past it the memory starts over (Redis remembers them
/// too).
const MAX_WORKERS: usize = 100_000;

/// A [`Store`] keeping a namespace in a Redis Cluster, one shard per runner (see the module's
/// documentation).
///
/// Cloning is cheap and shares connections.
#[derive(Clone)]
pub struct ClusterStore {
    inner: Arc<Inner>,
}

struct Inner {
    namespace: String,
    /// The namespace's own slot: secrets, registrations, schedules, the directory.
    home: RedisStore,
    durability: Durability,
    shards: Mutex<HashMap<String, RedisStore>>,
    /// Runners whose shard this process has announced in `shards` and given the retention,
    /// and when.
    ready: Mutex<HashMap<String, Instant>>,
    /// Worker → the queue it claims from.
    workers: Mutex<HashMap<String, String>>,
    /// The retention last put, copied into each shard, whose scripts read it there.
    retention: Mutex<Option<Retention>>,
}

impl std::fmt::Debug for ClusterStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterStore")
            .field("home", &self.inner.home)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl ClusterStore {
    /// Connects to the Redis Cluster `url` names
    /// (`redis+cluster://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…]`, or `rediss+cluster://…`
    /// over TLS) for `namespace`, and checks that the master of the namespace's slot answers.
    ///
    /// # Errors
    ///
    /// `Unavailable` when the URL is malformed or the cluster does not answer in time;
    /// `Unsupported` when the URL names no cluster, or the namespace holds `{`, `}` or `/`
    /// (they would break its hash tags).
    pub async fn connect(url: &str, namespace: &str, durability: Durability) -> Result<Self> {
        let safe_url = redact_url(url);
        let refuse = |reason: String| Error::Unavailable {
            reason: format!("redis at {safe_url}: {reason}"),
        };
        let target = Target::open(url).map_err(refuse)?;
        if !target.is_cluster() {
            return Err(Error::Unsupported {
                reason: format!(
                    "redis at {safe_url}: not a redis+cluster:// (or rediss+cluster://) URL"
                ),
            });
        }
        check_namespace(namespace, &safe_url)?;
        let home = RedisStore::open(target, Keys::tagged(namespace), safe_url, durability).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                namespace: namespace.to_owned(),
                home,
                durability,
                shards: Mutex::default(),
                ready: Mutex::default(),
                workers: Mutex::default(),
                retention: Mutex::default(),
            }),
        })
    }

    /// The shard of `runner`, opened on first use and kept: for the runners this process
    /// submits to, claims for, or finds in `shards`.
    fn shard(&self, runner: &str) -> Result<RedisStore> {
        let inner = &self.inner;
        if let Some(shard) = lock(&inner.shards).get(runner) {
            return Ok(shard.clone());
        }
        let shard = self.peek(runner)?;
        lock(&inner.shards).insert(runner.to_owned(), shard.clone());
        Ok(shard)
    }

    /// The shard of `runner` for a read: the kept one, or one made for this read only, so that
    /// asking about any number of names keeps nothing.
    fn peek(&self, runner: &str) -> Result<RedisStore> {
        if runner.contains(['{', '}', '/']) {
            return Err(Error::Unsupported {
                reason: format!(
                    "runner `{}` cannot have a shard on a Redis Cluster: its name holds `{{`, \
                     `}}` or `/`",
                    runner.escape_debug()
                ),
            });
        }
        let inner = &self.inner;
        if let Some(shard) = lock(&inner.shards).get(runner) {
            return Ok(shard.clone());
        }
        let keys = Keys::shard(&inner.namespace, runner);
        Ok(inner.home.sibling(keys, inner.durability))
    }

    /// The shard of `runner`, announced in `shards` and given the retention when this process
    /// first uses it and again every [`ANNOUNCE_EVERY`], so that the reaper, the promoter,
    /// listings and counts find it and its scripts keep finished jobs as long as configured.
    async fn ready_shard(&self, runner: &str) -> Result<RedisStore> {
        let shard = self.shard(runner)?;
        let fresh = lock(&self.inner.ready)
            .get(runner)
            .is_some_and(|at| at.elapsed() < ANNOUNCE_EVERY);
        if fresh {
            return Ok(shard);
        }
        let home = &self.inner.home;
        let () = redis::cmd("SADD")
            .arg(home.keys().shards())
            .arg(runner)
            .query_async(&mut home.conn())
            .await
            .map_err(|e| home.unavailable(e))?;
        let retention = *lock(&self.inner.retention);
        if let Some(retention) = retention {
            shard.put_retention(&retention).await?;
        }
        lock(&self.inner.ready).insert(runner.to_owned(), Instant::now());
        Ok(shard)
    }

    /// Every runner that has a shard.
    async fn runners_with_shards(&self) -> Result<Vec<String>> {
        let home = &self.inner.home;
        redis::cmd("SMEMBERS")
            .arg(home.keys().shards())
            .query_async(&mut home.conn())
            .await
            .map_err(|e| home.unavailable(e))
    }

    /// Every shard, with its runner.
    async fn all_shards(&self) -> Result<Vec<(String, RedisStore)>> {
        self.runners_with_shards()
            .await?
            .into_iter()
            .map(|runner| self.shard(&runner).map(|shard| (runner, shard)))
            .collect()
    }

    /// The runner whose shard holds job `id`, from the directory.
    async fn runner_of(&self, id: &str) -> Result<String> {
        let home = &self.inner.home;
        let entry: Option<String> = redis::cmd("HGET")
            .arg(home.keys().directory())
            .arg(id)
            .query_async(&mut home.conn())
            .await
            .map_err(|e| home.unavailable(e))?;
        entry
            .map(|entry| entry_runner(&entry).to_owned())
            .ok_or_else(|| Error::JobNotFound { id: id.to_owned() })
    }

    /// The shard holding job `id`.
    async fn shard_of(&self, id: &str) -> Result<RedisStore> {
        self.shard(&self.runner_of(id).await?)
    }

    /// The shard of the queue `worker` claims from.
    ///
    /// Known from this process's claims, else from the record a claim left in Redis (a
    /// supervisor relaying the reports of a worker whose claims another relayed), else from its
    /// name, `QUEUE-SUFFIX` as the runner SDK names workers.
    async fn shard_of_worker(&self, worker: &str) -> Result<RedisStore> {
        let known = lock(&self.inner.workers).get(worker).cloned();
        if let Some(queue) = known {
            return self.shard(&queue);
        }
        let home = &self.inner.home;
        let recorded: Option<String> = redis::cmd("GET")
            .arg(home.keys().worker_queue(worker))
            .query_async(&mut home.conn())
            .await
            .map_err(|e| home.unavailable(e))?;
        let queue = match recorded {
            Some(queue) => queue,
            None => worker
                .rsplit_once('-')
                .map_or(worker, |(queue, _)| queue)
                .to_owned(),
        };
        self.remember(worker, &queue);
        self.shard(&queue)
    }

    /// Notes the queue `worker` claims from; true when it is news to this process.
    fn remember(&self, worker: &str, queue: &str) -> bool {
        let mut workers = lock(&self.inner.workers);
        if workers.get(worker).is_some_and(|known| known == queue) {
            return false;
        }
        if workers.len() >= MAX_WORKERS {
            workers.clear();
        }
        workers.insert(worker.to_owned(), queue.to_owned());
        true
    }

    /// The namespace's master's clock, in milliseconds: what the directory's entries are
    /// stamped with.
    async fn clock(&self) -> Result<i64> {
        let home = &self.inner.home;
        home.inner
            .scripts
            .clock
            .key(home.keys().directory())
            .invoke_async(&mut home.conn())
            .await
            .map_err(|e| home.unavailable(e))
    }

    /// Reserves each job's id for its runner in the directory (every one or none), and
    /// readies the shards of the runners, before their jobs are stored.
    ///
    /// An id reserved for another runner whose shard lacks the job is stale once older than
    /// [`STALE_RESERVATION`] (its submit stopped between its two steps), and is taken over.
    async fn reserve(&self, jobs: &[&Job]) -> Result<()> {
        let home = &self.inner.home;
        let mut stale: Vec<(String, String)> = Vec::new();
        loop {
            let mut invocation = home.inner.scripts.reserve.prepare_invoke();
            invocation
                .key(home.keys().directory())
                .key(home.keys().shards())
                .arg(crate::scripts::millis(STALE_RESERVATION))
                .arg(stale.len());
            for (id, entry) in &stale {
                invocation.arg(id).arg(entry);
            }
            for job in jobs {
                invocation.arg(&job.id).arg(&job.runner);
            }
            let answer: Vec<String> = home.submit_script(&invocation).await?;
            match answer.as_slice() {
                [done, ..] if done.is_empty() => break,
                [id, entry] => {
                    let known = stale.iter().any(|(stale, _)| stale == id);
                    let held = self.peek(entry_runner(entry))?;
                    if known || held.first_stored(&[id.as_str()]).await?.is_some() {
                        return Err(Error::JobExists { id: id.clone() });
                    }
                    stale.push((id.clone(), entry.clone()));
                }
                _ => {
                    return Err(Error::Corrupt {
                        key: home.keys().directory(),
                        reason: "reserving ids answered neither done nor a taken id".into(),
                    });
                }
            }
        }
        let mut runners: Vec<&str> = jobs.iter().map(|job| job.runner.as_str()).collect();
        runners.sort_unstable();
        runners.dedup();
        for runner in runners {
            self.ready_shard(runner).await?;
        }
        Ok(())
    }

    /// Removes `ids`, gone from `runner`'s shard, from the directory: the entries reserved
    /// before `since` (the namespace's clock read before they went), so that an id submitted
    /// again meanwhile keeps its new entry.
    async fn unreserve(&self, runner: &str, since: i64, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let home = &self.inner.home;
        let mut invocation = home.inner.scripts.unreserve.prepare_invoke();
        invocation
            .key(home.keys().directory())
            .arg(runner)
            .arg(since);
        for id in ids {
            invocation.arg(id);
        }
        let _removed: u64 = invocation
            .invoke_async(&mut home.conn())
            .await
            .map_err(|e| home.unavailable(e))?;
        Ok(())
    }

    async fn store(&self, job: &Job, owner: Option<&str>, queue: bool) -> Result<()> {
        let shard = self.shard(&job.runner)?;
        self.reserve(&[job]).await?;
        shard.submit(job, owner, queue).await
    }
}

/// How soon the promoter looks again while a shard could not be read.
const RETRY_SKIPPED: chrono::TimeDelta = chrono::TimeDelta::seconds(2);

/// The answers of the shards that gave one, the others logged as skipped; the first error
/// when none did.
fn settled<T>(
    shards: &[(String, RedisStore)],
    passes: Vec<Result<T>>,
    what: &str,
) -> Result<Vec<T>> {
    let mut done = Vec::with_capacity(passes.len());
    let mut first_error = None;
    for ((runner, _), pass) in shards.iter().zip(passes) {
        match pass {
            Ok(pass) => done.push(pass),
            Err(error) => {
                tracing::warn!(%runner, %error, "{what}: skipped this runner's shard");
                first_error.get_or_insert(error);
            }
        }
    }
    match first_error {
        Some(error) if done.is_empty() => Err(error),
        _ => Ok(done),
    }
}

/// The runner a directory entry (`RUNNER MS`) names.
fn entry_runner(entry: &str) -> &str {
    entry.split_once(' ').map_or(entry, |(runner, _)| runner)
}

/// The fewest jobs a listing reads from a shard at a time.
const MIN_LIST_PAGE: usize = 50;

/// Records reserved up front for a listing, whatever its limit.
const MAX_PREALLOCATED: usize = 1000;

/// One shard's part of a listing: its jobs newest first, read a page at a time below the
/// last one read.
struct Listing {
    shard: RedisStore,
    /// Score and id of the last job read (or of `before`): the next page starts below it.
    top: Option<(i64, String)>,
    read: std::collections::VecDeque<(i64, JobRecord)>,
    done: bool,
}

impl Listing {
    fn new(shard: RedisStore, top: Option<(i64, String)>) -> Self {
        Self {
            shard,
            top,
            read: std::collections::VecDeque::new(),
            done: false,
        }
    }

    fn wants_more(&self) -> bool {
        self.read.is_empty() && !self.done
    }

    async fn read(&mut self, page: &JobFilter) -> Result<()> {
        let top = self.top.as_ref().map(|(score, id)| (*score, id.as_str()));
        let records = self.shard.list_below(page, top).await?;
        self.done = records.len() < page.limit;
        if let Some((score, record)) = records.last() {
            self.top = Some((*score, record.job.id.clone()));
        }
        self.read.extend(records);
        Ok(())
    }

    /// The order key of the next job: as one Redis orders a listing, newest (by creation in
    /// ms, then by id) first.
    fn head(&self) -> Option<(i64, &str)> {
        self.read
            .front()
            .map(|(score, record)| (*score, record.job.id.as_str()))
    }

    fn pop(&mut self) -> Option<JobRecord> {
        self.read.pop_front().map(|(_, record)| record)
    }
}

fn add_reaped(total: &mut Reaped, pass: &Reaped) {
    total.failed += pass.failed;
    total.requeued += pass.requeued;
    total.timed_out += pass.timed_out;
    total.expired += pass.expired;
}

#[async_trait]
impl Store for ClusterStore {
    async fn create_job(&self, job: &Job, owner: Option<&str>) -> Result<()> {
        self.store(job, owner, false).await
    }

    async fn start_job(&self, id: &str, owner: Option<&str>) -> Result<()> {
        self.shard_of(id).await?.start_job(id, owner).await
    }

    async fn submit_job(&self, job: &Job, owner: Option<&str>) -> Result<()> {
        self.store(job, owner, true).await
    }

    /// Atomic per shard: the ids are reserved in one step, then each runner's jobs are stored
    /// in one step of its shard (a call of more than 1,000 jobs for one runner: one per
    /// 1,000, as on one Redis).
    async fn submit_jobs(&self, jobs: &[Job], owner: Option<&str>, start: bool) -> Result<()> {
        refuse_twins(jobs)?;
        let mut by_runner: HashMap<&str, Vec<&Job>> = HashMap::new();
        for job in jobs {
            by_runner.entry(&job.runner).or_default().push(job);
        }
        // Every shard's jobs checked before any is stored, so a taken id stores nothing.
        let taken = try_join_all(by_runner.iter().map(|(runner, jobs)| async move {
            let ids: Vec<&str> = jobs.iter().map(|job| job.id.as_str()).collect();
            self.shard(runner)?.first_stored(&ids).await
        }))
        .await?;
        if let Some(id) = taken.into_iter().flatten().next() {
            return Err(Error::JobExists { id });
        }
        self.reserve(&jobs.iter().collect::<Vec<_>>()).await?;
        try_join_all(by_runner.iter().map(|(runner, jobs)| async move {
            self.shard(runner)?.submit_many(jobs, owner, start).await
        }))
        .await?;
        Ok(())
    }

    async fn run_job(
        &self,
        job: &Job,
        owner: Option<&str>,
        timeout: Duration,
    ) -> Result<JobRecord> {
        let shard = self.shard(&job.runner)?;
        self.reserve(&[job]).await?;
        shard.run_job(job, owner, timeout).await
    }

    async fn job(&self, id: &str) -> Result<JobRecord> {
        self.shard_of(id).await?.job(id).await
    }

    /// Every shard read newest first a page at a time, merged: a shard is read further only
    /// while its jobs are among the newest, so a listing reads about `limit` jobs plus a page
    /// per shard, not `limit` per shard.
    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobRecord>> {
        let top = match &filter.before {
            Some(id) => Some((self.shard_of(id).await?.score(id).await?, id.clone())),
            None => None,
        };
        let shards = match &filter.runner {
            Some(runner) => vec![self.peek(runner)?],
            None => self
                .all_shards()
                .await?
                .into_iter()
                .map(|(_, shard)| shard)
                .collect(),
        };
        let page = JobFilter {
            limit: (filter.limit / shards.len().max(1))
                .max(MIN_LIST_PAGE)
                .min(filter.limit.max(1)),
            ..filter.clone()
        };
        let mut streams: Vec<Listing> = shards
            .into_iter()
            .map(|shard| Listing::new(shard, top.clone()))
            .collect();
        let mut listed = Vec::with_capacity(filter.limit.min(MAX_PREALLOCATED));
        while listed.len() < filter.limit {
            try_join_all(
                streams
                    .iter_mut()
                    .filter(|stream| stream.wants_more())
                    .map(|stream| stream.read(&page)),
            )
            .await?;
            let newest = streams
                .iter()
                .enumerate()
                .filter_map(|(i, stream)| stream.head().map(|head| (i, head)))
                .max_by(|(_, a), (_, b)| a.cmp(b))
                .map(|(i, _)| i);
            let Some(i) = newest else { break };
            if let Some(record) = streams[i].pop() {
                listed.push(record);
            }
        }
        Ok(listed)
    }

    async fn delete_job(&self, id: &str, owner: Option<&str>) -> Result<()> {
        let runner = self.runner_of(id).await?;
        let since = self.clock().await?;
        self.shard(&runner)?.delete_job(id, owner).await?;
        self.unreserve(&runner, since, &[id.to_owned()]).await
    }

    async fn stop_job(&self, id: &str, owner: Option<&str>) -> Result<StopOutcome> {
        self.shard_of(id).await?.stop_job(id, owner).await
    }

    async fn end_job(&self, id: &str, finish: Finish) -> Result<JobRecord> {
        self.shard_of(id).await?.end_job(id, finish).await
    }

    async fn wait_final(&self, id: &str, timeout: Duration) -> Result<JobRecord> {
        self.shard_of(id).await?.wait_final(id, timeout).await
    }

    async fn claim(
        &self,
        queue: &str,
        worker: &str,
        lease: Duration,
        wait: Duration,
        most: usize,
    ) -> Result<Vec<Claimed>> {
        let shard = self.ready_shard(queue).await?;
        if self.remember(worker, queue) {
            let home = &self.inner.home;
            let () = redis::cmd("SET")
                .arg(home.keys().worker_queue(worker))
                .arg(queue)
                .arg("EX")
                .arg(WORKER_QUEUE_TTL.as_secs())
                .query_async(&mut home.conn())
                .await
                .map_err(|e| home.unavailable(e))?;
        }
        shard.claim(queue, worker, lease, wait, most).await
    }

    async fn heartbeat(
        &self,
        worker: &str,
        lease: Duration,
        running: &[Attempt],
    ) -> Result<Vec<Attempt>> {
        self.shard_of_worker(worker)
            .await?
            .heartbeat(worker, lease, running)
            .await
    }

    async fn finish(&self, worker: &str, attempt: &Attempt, finish: Finish) -> Result<bool> {
        self.shard_of_worker(worker)
            .await?
            .finish(worker, attempt, finish)
            .await
    }

    async fn finish_and_claim(
        &self,
        worker: &str,
        attempt: &Attempt,
        finish: Finish,
        next: Option<&NextClaim>,
    ) -> Result<(bool, Option<Claimed>)> {
        self.shard_of_worker(worker)
            .await?
            .finish_and_claim(worker, attempt, finish, next)
            .await
    }

    async fn progress(&self, worker: &str, attempt: &Attempt, progress: &Progress) -> Result<bool> {
        self.shard_of_worker(worker)
            .await?
            .progress(worker, attempt, progress)
            .await
    }

    async fn register_runner(&self, runner: &RunnerRecord) -> Result<()> {
        self.inner.home.register_runner(runner).await
    }

    async fn runners(&self) -> Result<Vec<RunnerRecord>> {
        self.inner.home.runners().await
    }

    async fn unregister_runner(&self, name: &str) -> Result<()> {
        self.inner.home.unregister_runner(name).await
    }

    async fn last_seen(&self, queue: &str) -> Result<Option<DateTime<Utc>>> {
        self.peek(queue)?.last_seen(queue).await
    }

    async fn job_counts(&self) -> Result<HashMap<JobStatus, u64>> {
        let shards = self.all_shards().await?;
        let counts = try_join_all(shards.iter().map(|(_, shard)| shard.job_counts())).await?;
        let mut total = HashMap::new();
        for (status, n) in counts.into_iter().flatten() {
            *total.entry(status).or_insert(0) += n;
        }
        Ok(total)
    }

    /// Into the namespace's slot and every shard's. A shard whose master is down is skipped
    /// (and logged), and given the retention when this process next readies it.
    async fn put_retention(&self, retention: &Retention) -> Result<()> {
        *lock(&self.inner.retention) = Some(*retention);
        self.inner.home.put_retention(retention).await?;
        let shards = self.all_shards().await?;
        let copies = join_all(
            shards
                .iter()
                .map(|(_, shard)| shard.put_retention(retention)),
        )
        .await;
        for ((runner, _), copy) in shards.iter().zip(copies) {
            if let Err(error) = copy {
                tracing::warn!(%runner, %error, "cannot copy the retention into this runner's shard yet");
                lock(&self.inner.ready).remove(runner);
            }
        }
        Ok(())
    }

    async fn secret_grants(&self) -> Result<HashMap<String, String>> {
        self.inner.home.secret_grants().await
    }

    async fn put_secret_grant(
        &self,
        hash: &str,
        grant: &str,
        config_admins: &[String],
    ) -> Result<bool> {
        self.inner
            .home
            .put_secret_grant(hash, grant, config_admins)
            .await
    }

    async fn watch_secrets(&self) -> Result<tokio::sync::watch::Receiver<u64>> {
        self.inner.home.watch_secrets().await
    }

    async fn watch_jobs(&self) -> Result<tokio::sync::broadcast::Receiver<Watched>> {
        self.inner.home.watch_jobs().await
    }

    async fn results(&self, ids: &[String]) -> Result<Vec<Option<JobResult>>> {
        let home = &self.inner.home;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let entries: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(home.keys().directory())
            .arg(ids)
            .query_async(&mut home.conn())
            .await
            .map_err(|e| home.unavailable(e))?;
        let mut by_runner: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, entry) in entries.iter().enumerate() {
            if let Some(entry) = entry {
                by_runner.entry(entry_runner(entry)).or_default().push(i);
            }
        }
        let mut results = vec![None; ids.len()];
        let read = try_join_all(by_runner.iter().map(|(runner, at)| async move {
            let wanted: Vec<String> = at.iter().map(|&i| ids[i].clone()).collect();
            self.shard(runner)?.results(&wanted).await
        }))
        .await?;
        for ((_, at), found) in by_runner.iter().zip(read) {
            for (&i, result) in at.iter().zip(found) {
                results[i] = result;
            }
        }
        Ok(results)
    }

    /// Each shard on its own: one whose master is down is skipped (and logged) while the
    /// others are reaped; only when every shard fails does the pass fail.
    async fn reap_expired(&self) -> Result<Reaped> {
        let shards = self.all_shards().await?;
        let since = self.clock().await?;
        let passes = join_all(shards.iter().map(|(runner, shard)| async move {
            let (reaped, expired) = shard.reap_expired_ids().await?;
            self.unreserve(runner, since, &expired).await?;
            Ok::<_, Error>(reaped)
        }))
        .await;
        let mut total = Reaped::default();
        for pass in settled(&shards, passes, "reaping")? {
            add_reaped(&mut total, &pass);
        }
        Ok(total)
    }

    async fn put_schedule(&self, schedule: &ScheduleRecord, max: usize) -> Result<()> {
        self.inner.home.put_schedule(schedule, max).await
    }

    async fn schedules(&self) -> Result<Vec<ScheduleRecord>> {
        self.inner.home.schedules().await
    }

    async fn delete_schedule(&self, name: &str, owner: Option<&str>) -> Result<()> {
        self.inner.home.delete_schedule(name, owner).await
    }

    async fn claim_tick(&self, name: &str, seed: &str, tick: DateTime<Utc>) -> Result<TickClaim> {
        self.inner.home.claim_tick(name, seed, tick).await
    }

    /// Each shard on its own, as for [`reap_expired`](Self::reap_expired); while one is
    /// skipped, the next pass is due soon, since its scheduled jobs are unknown.
    async fn promote_due(&self) -> Result<Promoted> {
        let shards = self.all_shards().await?;
        let passes = join_all(shards.iter().map(|(_, shard)| shard.promote_due())).await;
        let all = passes.len();
        let passes = settled(&shards, passes, "promoting")?;
        let mut next_due = passes.iter().filter_map(|pass| pass.next_due).min();
        if passes.len() < all {
            let soon = Utc::now() + RETRY_SKIPPED;
            next_due = Some(next_due.map_or(soon, |due| due.min(soon)));
        }
        Ok(Promoted {
            queued: passes.iter().map(|pass| pass.queued).sum(),
            next_due,
        })
    }

    async fn watch_scheduled(&self) -> Result<tokio::sync::watch::Receiver<u64>> {
        self.inner.home.watch_scheduled().await
    }

    async fn retry_job(&self, id: &str, owner: Option<&str>) -> Result<()> {
        self.shard_of(id).await?.retry_job(id, owner).await
    }

    async fn queue_len(&self, queue: &str) -> Result<u64> {
        self.peek(queue)?.queue_len(queue).await
    }

    async fn job_stats(&self) -> Result<JobStats> {
        let shards = self.all_shards().await?;
        let passes = try_join_all(shards.iter().map(|(_, shard)| shard.job_stats())).await?;
        let mut total = JobStats::default();
        for stats in passes {
            for (runner, n) in stats.submitted {
                *total.submitted.entry(runner).or_insert(0) += n;
            }
            for (key, n) in stats.finished {
                *total.finished.entry(key).or_insert(0) += n;
            }
        }
        Ok(total)
    }

    async fn runner_loads(&self, runners: &[String]) -> Result<Vec<RunnerLoad>> {
        let loads = try_join_all(runners.iter().map(|runner| async move {
            self.peek(runner)?
                .runner_loads(std::slice::from_ref(runner))
                .await
        }))
        .await?;
        Ok(loads.into_iter().flatten().collect())
    }

    async fn put_worker_stats(&self, stats: &WorkerStats, ttl: Duration) -> Result<()> {
        self.ready_shard(&stats.runner)
            .await?
            .put_worker_stats(stats, ttl)
            .await
    }

    async fn worker_stats(&self) -> Result<Vec<WorkerStats>> {
        let shards = self.all_shards().await?;
        let passes = try_join_all(shards.iter().map(|(_, shard)| shard.worker_stats())).await?;
        Ok(passes.into_iter().flatten().collect())
    }

    async fn health(&self) -> Result<()> {
        self.inner.home.health().await
    }
}

/// Connects to the store `url` names: a [`ClusterStore`] for a Redis Cluster
/// (`redis+cluster://…`), else a [`RedisStore`].
///
/// # Errors
///
/// As [`RedisStore::connect_with`] and [`ClusterStore::connect`].
pub async fn connect(url: &str, namespace: &str, durability: Durability) -> Result<Arc<dyn Store>> {
    if crate::url::is_cluster(url) {
        Ok(Arc::new(
            ClusterStore::connect(url, namespace, durability).await?,
        ))
    } else {
        Ok(Arc::new(
            RedisStore::connect_with(url, namespace, durability).await?,
        ))
    }
}
