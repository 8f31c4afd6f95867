//! Damage a store's own tests inject on purpose (the conformance suite's `Faults`).

use hero_store::Result;

use crate::db::{EmbeddedStore, unavailable};

impl EmbeddedStore {
    /// Overwrites the submitted form of job `id` with text that is not a job, as a damaged
    /// record would be; `false` when there is no such job. For tests only: it breaks the job.
    #[doc(hidden)]
    pub async fn damage_job(&self, id: &str) -> Result<bool> {
        let id = id.to_owned();
        self.write(move |t, _, _| {
            Ok(t.body
                .insert(id.as_str(), "{not json")
                .map_err(unavailable)?
                .is_some())
        })
        .await
    }
}
