//! What the Redis store's test files share.

use std::sync::Arc;
use std::time::Duration;

use hero_store::Claimed;
use hero_store::conformance::Faults;
use hero_store_redis::RedisStore;

/// Cuts a claim in two as a lost reply does: the `BLMOVE` the store waits with, and
/// `claim.lua` run later, or never. Keys as `docs/runner-protocol.md` lays them out, under
/// `prefix` (`NAMESPACE:v1:`, or `{NAMESPACE}:v1:` on a cluster), through a connection to the
/// node that holds them.
pub(crate) struct SplitClaims {
    pub(crate) conn: redis::aio::MultiplexedConnection,
    pub(crate) prefix: String,
}

impl SplitClaims {
    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    /// Runs the whole conformance suite on `store`, with these faults.
    pub(crate) async fn run_suite(&self, store: RedisStore) {
        // Some 60 checks, of which several wait for leases and retentions to pass: about
        // 30 s on a busy 2-core machine.
        tokio::time::timeout(
            hero_test_support::TIMEOUT * 4,
            hero_store::conformance::run_all(Arc::new(store), self),
        )
        .await
        .expect("the suite finishes in time");
    }
}

#[async_trait::async_trait]
impl Faults for SplitClaims {
    async fn move_without_marking(&self, queue: &str, worker: &str) -> Option<String> {
        redis::cmd("LMOVE")
            .arg(self.key(&format!("queue:{queue}")))
            .arg(self.key(&format!("inflight:{worker}")))
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
        .key(self.key(&format!("queue:{queue}")))
        .key(self.key(&format!("inflight:{worker}")))
        .key(self.key("workers"))
        .key(self.key("seen"))
        .key(self.key("attempts"))
        .arg(self.key("job:"))
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
        let () = redis::cmd("HSET")
            .arg(self.key(&format!("job:{id}")))
            .arg("job")
            .arg("{not json")
            .query_async(&mut self.conn.clone())
            .await
            .expect("hset");
        true
    }
}
