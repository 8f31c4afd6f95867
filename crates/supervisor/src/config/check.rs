//! What the TOML types cannot say — well-formed names, binaries that exist, usable TLS files,
//! origins browsers send — and parse errors that name the line and key, never a value.

use super::Config;
use super::actor::refuse_control_characters;
use crate::error::ConfigError;

impl Config {
    /// Checks what TOML types cannot: names, duplicates, binaries that exist, a TLS
    /// certificate and key that can be read and belong together.
    ///
    /// # Errors
    ///
    /// The first problem found, naming the key.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            key: key.to_owned(),
            reason,
        };
        // `:` separates the namespace from the rest of every key, so `a:b` would share keys
        // with namespace `a`; braces and `/` make the hash tags of a cluster's shards, and a
        // namespace holding them would be read as a shard's (its channels misnamed).
        if self.namespace.is_empty()
            || self.namespace.contains(char::is_whitespace)
            || self.namespace.contains([':', '{', '}', '/'])
        {
            return Err(invalid(
                "namespace",
                "must be non-empty, without spaces, `:`, `{`, `}` or `/`".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for actor in &self.actors {
            let key = format!("actors.{}", actor.id);
            for (field, value) in [("id", &actor.id), ("name", &actor.name)] {
                let well_formed = !value.is_empty()
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if !well_formed {
                    return Err(invalid(
                        &format!("{key}.{field}"),
                        format!("{value:?} must be letters, digits, `_`, `-` or `.`"),
                    ));
                }
            }
            if !seen.insert(actor.id.clone()) {
                return Err(invalid(&key, "two actors share this id".into()));
            }
            actor.check_text(&key)?;
            let transport = actor.transport(self.redis_url.is_some());
            if transport == super::ActorTransport::Redis
                && self.redis_url.is_none()
                && actor.redis_url.is_none()
            {
                return Err(invalid(
                    &format!("{key}.transport"),
                    "`redis` needs a `redis_url` (the supervisor's or the actor's); without one \
                     the supervisor keeps jobs in its embedded store, which runners reach \
                     through it: `transport = \"supervisor\"`"
                        .into(),
                ));
            }
            if transport == super::ActorTransport::Supervisor {
                if self.runner_endpoint.socket_path(&self.data_dir()).is_none() {
                    return Err(invalid(
                        &format!("{key}.transport"),
                        "`supervisor` needs the runner endpoint, but `runner_endpoint.socket` \
                         is \"\" (off)"
                            .into(),
                    ));
                }
                if actor.redis_url.is_some() {
                    return Err(invalid(
                        &format!("{key}.redis_url"),
                        "is not used with `transport = \"supervisor\"`; remove one".into(),
                    ));
                }
            }
            if !actor.binary_path.is_file() {
                return Err(invalid(
                    &format!("{key}.binary_path"),
                    format!("`{}` is not an existing file", actor.binary_path.display()),
                ));
            }
        }
        let top_level = [
            ("namespace", Some(self.namespace.as_str())),
            ("redis_url", self.redis_url.as_deref()),
            ("tmux_socket", self.tmux_socket.as_deref()),
            (
                "runner_endpoint.socket",
                self.runner_endpoint
                    .socket
                    .as_deref()
                    .and_then(std::path::Path::to_str),
            ),
        ];
        for (key, value) in top_level {
            refuse_control_characters(key, value.unwrap_or_default())?;
        }
        let redis_urls = std::iter::once(("redis_url".to_owned(), self.redis_url.as_deref()))
            .chain(self.actors.iter().map(|actor| {
                (
                    format!("actors.{}.redis_url", actor.id),
                    actor.redis_url.as_deref(),
                )
            }));
        for (key, url) in redis_urls {
            if let Some(url) = url {
                hero_store_redis::check_url(url).map_err(|reason| invalid(&key, reason))?;
            }
        }
        self.retention.check()?;
        super::durability::check(
            self.durability,
            self.durability_timeout_ms,
            self.redis_url.is_some(),
        )?;
        self.metrics.check()?;
        if let Some(tls) = &self.tls {
            crate::tls::server_config(tls)?;
        }
        for origin in &self.cors_allowed_origins {
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let well_formed = origin == "*"
                || host.is_some_and(|host| {
                    // Browsers send origins in lower case; another spelling would never match.
                    !host.is_empty()
                        && !host.contains(['/', ' ', '\t'])
                        && *origin == origin.to_ascii_lowercase()
                        && http::HeaderValue::from_str(origin).is_ok()
                });
            if !well_formed {
                return Err(invalid(
                    "cors_allowed_origins",
                    format!(
                        "{origin:?} is not `*` or an origin such as `https://app.example:8443`"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// serde's `invalid type: string "VALUE", expected …` with the value left out.
fn without_value(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.split_once(", expected ")
        {
            let kind = found.split_whitespace().next().unwrap_or("value");
            return format!("{prefix}{kind}, expected {expected}");
        }
    }
    message.to_owned()
}

/// `message` prefixed with the line of byte `offset` and the key assigned on that line.
/// Only the key is quoted, never the value: it may be a secret.
pub(super) fn describe_at(text: &str, offset: usize, message: &str) -> String {
    let message = without_value(message);
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line_no = text[..start].matches('\n').count() + 1;
    let line = text[start..].lines().next().unwrap_or_default();
    // Only a bare key is quoted: on a continuation line of an array, the text before `=`
    // may be a secret.
    let is_bare_key = |key: &str| {
        !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    match line.split_once('=') {
        Some((key, _)) if is_bare_key(key.trim()) => {
            format!("line {line_no}, key `{}`: {message}", key.trim())
        }
        _ => format!("line {line_no}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;

    #[test]
    fn unknown_keys_are_named() {
        let err = parse("prot = 3030").unwrap_err();
        assert!(err.contains("prot"), "{err}");
    }

    #[test]
    fn wrong_types_are_named() {
        let err = parse("port = \"high\"").unwrap_err();
        assert!(err.contains("port"), "{err}");
    }

    #[test]
    fn load_names_the_line_and_key_but_never_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "port = 1\nadmin_secrets = \"hunter2\"\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("line 2, key `admin_secrets`"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn a_missing_binary_names_the_actor_and_path() {
        let config = parse("[[actors]]\nid='a'\nname='a'\nbinary_path='/no/such/runner'").unwrap();
        let err = config.check().unwrap_err().to_string();
        assert!(err.contains("actors.a.binary_path"), "{err}");
        assert!(err.contains("/no/such/runner"), "{err}");
    }

    #[test]
    fn an_actor_through_the_supervisor_needs_the_socket_and_no_redis_url_of_its_own() {
        let actor = "[[actors]]\nid='a'\nname='a'\nbinary_path='/bin/sh'\ntransport='supervisor'\n";
        parse(actor)
            .unwrap()
            .check()
            .expect("the default socket serves it");
        let off = parse(&format!("[runner_endpoint]\nsocket = ''\n{actor}")).unwrap();
        let err = off.check().unwrap_err().to_string();
        assert!(err.contains("actors.a.transport"), "{err}");
        let both = parse(&format!("{actor}redis_url='redis://h'")).unwrap();
        let err = both.check().unwrap_err().to_string();
        assert!(err.contains("actors.a.redis_url"), "{err}");
    }

    #[test]
    fn a_sentinel_url_is_accepted_and_a_malformed_one_named_without_its_password() {
        let ok = "redis_url = 'redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/hero?db=1'";
        parse(ok)
            .unwrap()
            .check()
            .expect("a well-formed Sentinel URL");
        for (config, key) in [
            (
                "redis_url = 'redis+sentinel://:hunter2@h:26379'",
                "redis_url",
            ),
            ("redis_url = 'redis://:hunter2@h:99999999'", "redis_url"),
            (
                "[[actors]]\nid='a'\nname='a'\nbinary_path='/bin/sh'\n\
                 redis_url='redis+sentinel://:hunter2@h:x/m'",
                "actors.a.redis_url",
            ),
        ] {
            let err = parse(config).unwrap().check().unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn a_namespace_with_a_colon_is_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "namespace = \"a:b\"\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("key `namespace`"), "{err}");
        assert!(err.contains(':'), "{err}");
    }

    /// A cluster's shard keys are `{NAMESPACE/RUNNER}:v1:…`: a namespace like `{team/a}`
    /// would read as a shard's, and its channels be misnamed, whatever the backend.
    #[test]
    fn a_namespace_holding_a_brace_or_slash_is_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        for namespace in ["{team/a}", "a/b", "a{b", "b}"] {
            std::fs::write(&path, format!("namespace = \"{namespace}\"\n")).unwrap();
            let err = Config::load(&path).unwrap_err().to_string();
            assert!(err.contains("key `namespace`"), "{namespace}: {err}");
            assert!(err.contains("`/`"), "{namespace}: {err}");
        }
    }

    #[test]
    fn a_missing_certificate_names_the_key_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[tls]\ncert_path = '/no/such/cert.pem'\nkey_path = '/no/such/key.pem'\n",
        )
        .unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("key `tls.cert_path`"), "{err}");
        assert!(err.contains("/no/such/cert.pem"), "{err}");
    }

    #[test]
    fn cors_origins_must_be_origins() {
        let mut config = parse("cors_allowed_origins = ['https://app.example:8443', '*']").unwrap();
        config.actors.clear();
        config.check().unwrap();
        for bad in [
            "app.example",
            "https://app.example/",
            "https://a b",
            "",
            "https://",
            "https://App.example",
        ] {
            config.cors_allowed_origins = vec![bad.to_owned()];
            let err = config.check().unwrap_err().to_string();
            assert!(err.contains("cors_allowed_origins"), "{bad}: {err}");
        }
    }
}
