//! Secret grants: recorded with the last-admin check in one transaction, announced to the
//! holders of a copy.

use std::collections::{HashMap, HashSet};

use hero_store::Result;
use redb::ReadableTable;

use crate::db::{EmbeddedStore, unavailable};

impl EmbeddedStore {
    pub(crate) async fn secret_grants(&self) -> Result<HashMap<String, String>> {
        self.read(|t, _| {
            t.secrets
                .iter()
                .map_err(unavailable)?
                .map(|entry| {
                    let (hash, grant) = entry.map_err(unavailable)?;
                    Ok((hash.value().to_owned(), grant.value().to_owned()))
                })
                .collect()
        })
        .await
    }

    pub(crate) async fn put_secret_grant(
        &self,
        hash: &str,
        grant: &str,
        config_admins: &[String],
    ) -> Result<bool> {
        let (hash, grant) = (hash.to_owned(), grant.to_owned());
        let mut admins: HashSet<String> = config_admins.iter().cloned().collect();
        self.write(move |t, fx, _| {
            for entry in t.secrets.iter().map_err(unavailable)? {
                let (h, g) = entry.map_err(unavailable)?;
                // A grant overrides the config: an admin of the config granted `user` is a
                // user.
                if g.value() == "admin" {
                    admins.insert(h.value().to_owned());
                } else {
                    admins.remove(h.value());
                }
            }
            if admins.contains(&hash) && grant != "admin" {
                admins.remove(&hash);
                if admins.is_empty() {
                    return Ok(false);
                }
            }
            t.secrets
                .insert(hash.as_str(), grant.as_str())
                .map_err(unavailable)?;
            fx.secrets_changed();
            Ok(true)
        })
        .await
    }
}
