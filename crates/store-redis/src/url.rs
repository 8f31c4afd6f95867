//! The forms a Redis URL takes, read into what connecting needs: a single Redis
//! (`redis://`, `rediss://`, `unix://`, as redis-rs reads them), a Sentinel set
//! (`redis+sentinel://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…]/MASTER_NAME[?db=N]`) or a Redis
//! Cluster (`redis+cluster://…`, read in `cluster.rs`).
//!
//! In the Sentinel form the credentials and `db` are those of the data nodes (the master the
//! sentinels name); the sentinels themselves are asked without credentials. A port left out
//! is Sentinel's own, 26379. Errors never repeat the URL: it may hold a password.

/// The scheme of a URL naming a Sentinel set.
pub(crate) const SENTINEL_SCHEME: &str = "redis+sentinel";

/// The scheme of a URL naming a Sentinel set whose sentinels and data nodes are reached over
/// TLS.
pub(crate) const SENTINEL_TLS_SCHEME: &str = "rediss+sentinel";

/// Sentinel's default port.
const SENTINEL_PORT: u16 = 26379;

/// What a Redis URL names.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum RedisUrl {
    /// One Redis, its URL as redis-rs reads it.
    Single(String),
    /// The master a set of sentinels names.
    Sentinel(SentinelUrl),
    /// A Redis Cluster (`cluster.rs`).
    Cluster(crate::cluster::ClusterUrl),
}

/// The parts of a `redis+sentinel://` URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SentinelUrl {
    /// The sentinels, as `(host, port)`, in the order given.
    pub(crate) sentinels: Vec<(String, u16)>,
    /// The name the sentinels know the master by.
    pub(crate) master: String,
    /// Credentials for the master (and any node it fails over to).
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    /// The database on the master.
    pub(crate) db: i64,
    /// Whether the sentinels and the data nodes are reached over TLS (`rediss+sentinel://`).
    pub(crate) tls: bool,
}

impl std::fmt::Debug for SentinelUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelUrl")
            .field("sentinels", &self.sentinels)
            .field("master", &self.master)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("db", &self.db)
            .field("tls", &self.tls)
            .finish()
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Single(url) => write!(f, "Single({})", crate::redact_url(url)),
            Self::Sentinel(url) => url.fmt(f),
            Self::Cluster(url) => url.fmt(f),
        }
    }
}

/// Whether `scheme` is the TLS variant of a pair: `Some(false)` for `plain`, `Some(true)` for
/// `tls`, `None` for any other scheme; case does not matter.
pub(crate) fn tls_variant(scheme: &str, plain: &str, tls: &str) -> Option<bool> {
    if scheme.eq_ignore_ascii_case(plain) {
        Some(false)
    } else if scheme.eq_ignore_ascii_case(tls) {
        Some(true)
    } else {
        None
    }
}

/// True when `url` names a Redis Cluster (`redis+cluster://…`, `rediss+cluster://…`).
pub(crate) fn is_cluster(url: &str) -> bool {
    url.split_once("://")
        .is_some_and(|(scheme, _)| crate::cluster::cluster_scheme(scheme).is_some())
}

impl RedisUrl {
    /// Reads `url`. Only the Sentinel and Cluster forms are checked here; redis-rs checks the others when
    /// it opens them.
    ///
    /// # Errors
    ///
    /// What is wrong with a Sentinel URL, without repeating any of it.
    pub(crate) fn parse(url: &str) -> Result<Self, String> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Ok(Self::Single(url.to_owned()));
        };
        if let Some(tls) = tls_variant(scheme, SENTINEL_SCHEME, SENTINEL_TLS_SCHEME) {
            let scheme = if tls {
                SENTINEL_TLS_SCHEME
            } else {
                SENTINEL_SCHEME
            };
            return parse_sentinel(rest, tls).map(Self::Sentinel).map_err(|e| {
                format!("{e} (the form is {scheme}://HOST:PORT[,HOST:PORT…]/MASTER_NAME)")
            });
        }
        match crate::cluster::cluster_scheme(scheme) {
            Some(tls) => crate::cluster::ClusterUrl::parse(rest, tls).map(Self::Cluster),
            None => Ok(Self::Single(url.to_owned())),
        }
    }
}

fn parse_sentinel(rest: &str, tls: bool) -> Result<SentinelUrl, String> {
    let (authority, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let (master, query) = tail.split_once('?').unwrap_or((tail, ""));
    let Authority {
        username,
        password,
        hosts: sentinels,
    } = Authority::parse(authority, "a sentinel", SENTINEL_PORT)?;
    let master = decode(master).ok_or("the master name is not valid percent-encoding")?;
    if master.is_empty() || master.contains(['/', ' ']) {
        return Err("the URL names no master: add `/MASTER_NAME` after the sentinels".into());
    }
    let mut db = 0;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        match pair.split_once('=') {
            Some(("db", n)) => {
                db = n
                    .parse()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or("`db` must be a database number")?;
            }
            _ => return Err("the only query parameter it takes is `db=N`".into()),
        }
    }
    Ok(SentinelUrl {
        sentinels,
        master,
        username,
        password,
        db,
        tls,
    })
}

/// What comes before the path of a URL naming several hosts:
/// `[USER[:PASSWORD]@]HOST[:PORT][,HOST[:PORT]…]`.
pub(crate) struct Authority {
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    /// `(host, port)` in the order given.
    pub(crate) hosts: Vec<(String, u16)>,
}

impl Authority {
    /// Reads `authority`; `what` names a host in errors ("a sentinel", "a node"), and a host
    /// without a port gets `default_port`.
    pub(crate) fn parse(authority: &str, what: &str, default_port: u16) -> Result<Self, String> {
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => (Some(userinfo), hosts),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(userinfo) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let user = decode(user).ok_or("the user name is not valid percent-encoding")?;
                let password =
                    decode(password).ok_or("the password is not valid percent-encoding")?;
                (
                    Some(user).filter(|u| !u.is_empty()),
                    Some(password).filter(|p| !p.is_empty()),
                )
            }
        };
        let hosts = hosts
            .split(',')
            .map(|host| parse_address(host, what, default_port))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            username,
            password,
            hosts,
        })
    }
}

/// `HOST[:PORT]` or `[IPV6][:PORT]`, the port `default_port` when absent; errors name the
/// address as `what` ("a sentinel", "a node").
fn parse_address(text: &str, what: &str, default_port: u16) -> Result<(String, u16), String> {
    let (name, port) = match text.strip_prefix('[') {
        Some(bracketed) => {
            let (name, after) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("{what}'s IPv6 address lacks its `]`"))?;
            (name, after.strip_prefix(':'))
        }
        None => match text.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (text, None),
        },
    };
    if name.is_empty() || name.contains(['/', '@', ' ', '?', '#']) {
        return Err(format!("{what}'s address is empty or malformed"));
    }
    let port = match port {
        None => default_port,
        Some(port) => port
            .parse()
            .ok()
            .filter(|port| *port > 0)
            .ok_or_else(|| format!("{what}'s port is not a number from 1 to 65535"))?,
    };
    Ok((name.to_owned(), port))
}

/// Percent-decodes `text`; `None` when an escape is malformed or the bytes are not UTF-8.
pub(crate) fn decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first == b'%' {
            let hex = tail.get(..2)?;
            bytes.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(first);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentinel(url: &str) -> SentinelUrl {
        match RedisUrl::parse(url) {
            Ok(RedisUrl::Sentinel(parsed)) => parsed,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn a_sentinel_url_names_its_sentinels_master_credentials_and_db() {
        let url = sentinel("redis+sentinel://app:p%40ss@10.0.0.1:26379,h2:5000,[::1]/jobs?db=3");
        assert_eq!(
            url.sentinels,
            [
                ("10.0.0.1".to_owned(), 26379),
                ("h2".to_owned(), 5000),
                ("::1".to_owned(), 26379)
            ]
        );
        assert_eq!(url.master, "jobs");
        assert_eq!(url.username.as_deref(), Some("app"));
        assert_eq!(url.password.as_deref(), Some("p@ss"));
        assert_eq!(url.db, 3);
        let bare = sentinel("redis+sentinel://:secret@h:1/m");
        assert_eq!(bare.username, None);
        assert_eq!(bare.password.as_deref(), Some("secret"));
        assert_eq!(bare.db, 0);
        assert!(!bare.tls);
        let tls = sentinel("rediss+sentinel://h:1/m");
        assert!(
            tls.tls,
            "rediss+sentinel:// reaches sentinels and nodes over TLS"
        );
        assert_eq!(tls.master, "m");
    }

    #[test]
    fn other_urls_are_left_to_redis() {
        assert_eq!(
            RedisUrl::parse("redis://h:6379/2"),
            Ok(RedisUrl::Single("redis://h:6379/2".to_owned()))
        );
    }

    #[test]
    fn a_malformed_sentinel_url_is_refused_without_repeating_its_password() {
        for url in [
            "redis+sentinel://:hunter2@h:1",
            "redis+sentinel://:hunter2@h:1/",
            "redis+sentinel://:hunter2@h:99999/m",
            "redis+sentinel://:hunter2@h:x/m",
            "redis+sentinel://:hunter2@/m",
            "redis+sentinel://:hunter2@h:1,/m",
            "redis+sentinel://:hunter2@h:1/m?db=-1",
            "redis+sentinel://:hunter2@h:1/m?password=x",
            "redis+sentinel://:hunter2@[::1/m",
            "redis+sentinel://:hunter2%zz@h:1/m",
        ] {
            let error = RedisUrl::parse(url).expect_err(url);
            assert!(!error.contains("hunter2"), "{error}");
            assert!(error.contains("MASTER_NAME"), "{error}");
        }
    }
}
