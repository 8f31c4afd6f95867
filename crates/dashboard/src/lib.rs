//! The Hero Supervisor web dashboard: static files embedded in the binary.
//!
//! The files under `assets/` are compiled in with `include_bytes!`, so the supervisor serves
//! the dashboard with nothing on disk and nothing fetched from the network. [`asset`] maps a
//! URL path to a file; the server adds [`CONTENT_SECURITY_POLICY`] and its other headers.
//!
//! ```
//! let page = hero_dashboard::asset("/").expect("the dashboard has a home page");
//! assert_eq!(page.content_type, "text/html; charset=utf-8");
//! assert!(hero_dashboard::asset("/assets/js/main.js").is_some());
//! assert!(hero_dashboard::asset("/assets/nothing.js").is_none());
//! ```

/// One embedded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// The file's bytes.
    pub body: &'static [u8],
    /// Its `Content-Type` header value.
    pub content_type: &'static str,
}

/// The `Content-Security-Policy` sent with every file: scripts, styles, fonts and images come
/// from the supervisor itself (images also as `data:` URLs), the page connects only to its own
/// origin's WebSocket and HTTP endpoints, and it may not be framed, run inline code or post
/// forms elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The URL path prefix of every file but the page itself.
pub const ASSETS_PREFIX: &str = "/assets/";

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Every file served, by URL path. A test checks that it lists every file under `assets/`.
const FILES: &[(&str, &str, &[u8])] = &[
    ("/", HTML, include_bytes!("../assets/index.html")),
    ("/assets/app.css", CSS, include_bytes!("../assets/app.css")),
    (
        "/assets/icon.svg",
        SVG,
        include_bytes!("../assets/icon.svg"),
    ),
    (
        "/assets/js/main.js",
        JS,
        include_bytes!("../assets/js/main.js"),
    ),
    (
        "/assets/js/rpc.js",
        JS,
        include_bytes!("../assets/js/rpc.js"),
    ),
    (
        "/assets/js/session.js",
        JS,
        include_bytes!("../assets/js/session.js"),
    ),
    (
        "/assets/js/dom.js",
        JS,
        include_bytes!("../assets/js/dom.js"),
    ),
    (
        "/assets/js/chart.js",
        JS,
        include_bytes!("../assets/js/chart.js"),
    ),
    (
        "/assets/js/overview.js",
        JS,
        include_bytes!("../assets/js/overview.js"),
    ),
    (
        "/assets/js/runners.js",
        JS,
        include_bytes!("../assets/js/runners.js"),
    ),
    (
        "/assets/js/jobs.js",
        JS,
        include_bytes!("../assets/js/jobs.js"),
    ),
    (
        "/assets/js/job.js",
        JS,
        include_bytes!("../assets/js/job.js"),
    ),
];

/// The file served at the URL `path` (`/` or `/index.html` for the page, `/assets/…` for the
/// rest); `None` for any other path.
pub fn asset(path: &str) -> Option<Asset> {
    let path = if path == "/index.html" { "/" } else { path };
    FILES
        .iter()
        .find(|(at, _, _)| *at == path)
        .map(|&(_, content_type, body)| Asset { body, content_type })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file under `assets/`, as URL paths.
    fn files_on_disk(dir: &std::path::Path, url: &str, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("assets/ is readable") {
            let entry = entry.expect("a directory entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if path.is_dir() {
                files_on_disk(&path, &format!("{url}{name}/"), found);
            } else if name == "index.html" {
                found.push("/".into());
            } else {
                found.push(format!("{url}{name}"));
            }
        }
    }

    #[test]
    fn every_file_under_assets_is_served() {
        let mut on_disk = Vec::new();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        files_on_disk(&dir, ASSETS_PREFIX, &mut on_disk);
        on_disk.sort();
        let mut served: Vec<_> = FILES.iter().map(|(at, _, _)| at.to_string()).collect();
        served.sort();
        assert_eq!(on_disk, served);
    }

    #[test]
    fn every_module_the_page_imports_is_served() {
        for (_, content_type, body) in FILES {
            if *content_type != JS && *content_type != HTML {
                continue;
            }
            let text = std::str::from_utf8(body).expect("text files are UTF-8");
            for quoted in text.split(['"', '\'']).filter(|s| s.ends_with(".js")) {
                let path = match quoted.strip_prefix("./") {
                    Some(name) => format!("/assets/js/{name}"),
                    None => quoted.to_owned(),
                };
                assert!(asset(&path).is_some(), "{quoted} is not served");
            }
        }
    }

    #[test]
    fn the_page_is_served_at_root_and_index_html() {
        assert_eq!(asset("/"), asset("/index.html"));
        assert!(asset("/assets/").is_none());
        assert!(asset("/assets/../Cargo.toml").is_none());
    }
}
