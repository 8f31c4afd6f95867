//! Waiting for a job's end on its bell, rung by the transaction that ends or deletes it.

use std::time::Duration;

use hero_job::JobRecord;
use hero_store::Result;
use tokio::time::Instant;

use crate::db::EmbeddedStore;

impl EmbeddedStore {
    pub(crate) async fn wait_final(&self, id: &str, timeout: Duration) -> Result<JobRecord> {
        let deadline = crate::claims::deadline_after(timeout);
        let bell = self.inner.signals.ends.get(id);
        loop {
            // Listening before reading: an end between the read and the wait still wakes.
            let notified = bell.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let record = self.job(id).await?;
            if record.status.is_final() || Instant::now() >= deadline {
                return Ok(record);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.job(id).await;
            }
        }
    }
}
