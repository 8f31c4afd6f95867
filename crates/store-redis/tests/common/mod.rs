//! What the Redis store's test files share.

use std::sync::Arc;
use std::time::Duration;

use hero_store::conformance::Faults;
use hero_store::{Claimed, Store};
use redis::aio::ConnectionLike;

/// Where a namespace's keys are, as `docs/runner-protocol.md` lays them out.
#[allow(dead_code, reason = "each test file names the layout of its own store")]
pub(crate) enum Layout {
    /// Every key under one prefix: `NAMESPACE:v1:` on one Redis.
    Prefix(String),
    /// A Redis Cluster's: each runner's keys under `{NAMESPACE/RUNNER}:v1:`, the directory
    /// of which runner holds which job under `{NAMESPACE}:v1:`.
    Shards(String),
}

/// Cuts a claim in two as a lost reply does: the `BLMOVE` the store waits with, and
/// `claim.lua` run later, or never. Through `conn`, a connection reaching the keys of
/// `layout` (on a cluster, redis-rs' cluster connection, which finds each key's node).
pub(crate) struct SplitClaims<C> {
    pub(crate) conn: C,
    pub(crate) layout: Layout,
}

impl<C: ConnectionLike + Clone + Send + Sync + 'static> SplitClaims<C> {
    /// The key `rest` of `queue`'s keys.
    fn key(&self, queue: &str, rest: &str) -> String {
        match &self.layout {
            Layout::Prefix(prefix) => format!("{prefix}{rest}"),
            Layout::Shards(namespace) => format!("{{{namespace}/{queue}}}:v1:{rest}"),
        }
    }

    /// Runs the whole conformance suite on `store`, with these faults.
    pub(crate) async fn run_suite(&self, store: Arc<dyn Store>) {
        // Some 60 checks, of which several wait for leases and retentions to pass: about
        // 30 s on a busy 2-core machine.
        tokio::time::timeout(
            hero_test_support::TIMEOUT * 4,
            hero_store::conformance::run_all(store, self),
        )
        .await
        .expect("the suite finishes in time");
    }
}

#[async_trait::async_trait]
impl<C: ConnectionLike + Clone + Send + Sync + 'static> Faults for SplitClaims<C> {
    async fn move_without_marking(&self, queue: &str, worker: &str) -> Option<String> {
        redis::cmd("LMOVE")
            .arg(self.key(queue, &format!("queue:{queue}")))
            .arg(self.key(queue, &format!("inflight:{worker}")))
            .arg("RIGHT")
            .arg("LEFT")
            .query_async(&mut self.conn.clone())
            .await
            .expect("lmove")
    }

    async fn mark_moved(
        &self,
        queue: &str,
        worker: &str,
        moved: &str,
        lease: Duration,
        most: usize,
    ) -> Vec<Claimed> {
        let claimed: Vec<(u64, String, String)> = redis::Script::new(concat!(
            include_str!("../../lua/lib.lua"),
            include_str!("../../lua/claim.lua")
        ))
        .key(self.key(queue, &format!("queue:{queue}")))
        .key(self.key(queue, &format!("inflight:{worker}")))
        .key(self.key(queue, "workers"))
        .key(self.key(queue, "seen"))
        .key(self.key(queue, "attempts"))
        .arg(self.key(queue, "job:"))
        .arg(worker)
        .arg(u64::try_from(lease.as_millis()).expect("a short lease"))
        .arg(chrono::Utc::now().to_rfc3339())
        .arg(moved)
        .arg(most)
        .arg(queue)
        .arg(5000)
        .invoke_async(&mut self.conn.clone())
        .await
        .expect("claim.lua");
        claimed
            .into_iter()
            .map(|(token, json, _id)| Claimed {
                job: serde_json::from_str(&json).expect("job json"),
                token,
            })
            .collect()
    }

    async fn corrupt_job(&self, id: &str) -> bool {
        let runner = match &self.layout {
            Layout::Prefix(_) => String::new(),
            Layout::Shards(namespace) => {
                let entry: String = redis::cmd("HGET")
                    .arg(format!("{{{namespace}}}:v1:dir"))
                    .arg(id)
                    .query_async(&mut self.conn.clone())
                    .await
                    .expect("the directory names the job's runner");
                // `RUNNER MS`: the runner, and when the id was reserved.
                entry.split(' ').next().unwrap_or_default().to_owned()
            }
        };
        let () = redis::cmd("HSET")
            .arg(self.key(&runner, &format!("job:{id}")))
            .arg("job")
            .arg("{not json")
            .query_async(&mut self.conn.clone())
            .await
            .expect("hset");
        true
    }
}
