//! Secret grants: reading and writing them, and watching for changes announced on the
//! events channel by any process sharing this Redis.

use std::collections::HashMap;

use hero_store::Result;
use redis::AsyncCommands;

use crate::connection::RedisStore;

impl RedisStore {
    pub(crate) async fn secret_grants(&self) -> Result<HashMap<String, String>> {
        self.conn()
            .hgetall(self.keys().secrets())
            .await
            .map_err(|e| self.unavailable(e))
    }

    pub(crate) async fn put_secret_grant(
        &self,
        hash: &str,
        grant: &str,
        config_admins: &[String],
    ) -> Result<bool> {
        let keys = self.keys();
        let mut invocation = self.inner.scripts.grant.key(keys.secrets());
        invocation
            .arg(hash)
            .arg(grant)
            .arg(keys.events())
            .arg(crate::events::SECRETS_CHANGED);
        for admin in config_admins {
            invocation.arg(admin);
        }
        let recorded: u8 = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(recorded == 1)
    }

    pub(crate) async fn watch_secrets(&self) -> Result<tokio::sync::watch::Receiver<u64>> {
        Ok(self.events().await?.watch_secrets())
    }
}
