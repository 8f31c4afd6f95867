//! The web dashboard as the server delivers it: the page and its files with their headers,
//! 404 for unknown files, and the JSON-RPC WebSocket on the same `GET /`. What the page does
//! in a browser is tested in Chromium by `scripts/test-dashboard`.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{ADMIN, bounded};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn get(sup: &common::TestSupervisor, path: &str) -> reqwest::Response {
    bounded(sup.http.get(format!("{}{path}", sup.url)).send())
        .await
        .unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn get_root_serves_the_dashboard_page_with_a_strict_content_security_policy() {
    let sup = common::TestSupervisor::start().await;
    let response = get(&sup, "/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "content-type"),
        "text/html; charset=utf-8"
    );
    let policy = header(&response, "content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self';",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} missing: {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    assert_eq!(header(&response, "cache-control"), "no-cache");
    let body = bounded(response.text()).await.unwrap();
    assert!(body.contains(r#"<script type="module" src="/assets/js/main.js">"#));
    assert!(
        !body.contains("http://") && !body.contains("https://"),
        "no outside URL"
    );
    sup.stop().await;
}

#[tokio::test]
async fn the_page_s_scripts_and_styles_are_served_with_their_types() {
    let sup = common::TestSupervisor::start().await;
    for (path, content_type) in [
        ("/assets/js/main.js", "text/javascript; charset=utf-8"),
        ("/assets/js/rpc.js", "text/javascript; charset=utf-8"),
        ("/assets/app.css", "text/css; charset=utf-8"),
        ("/assets/icon.svg", "image/svg+xml"),
    ] {
        let response = get(&sup, path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "content-type"), content_type, "{path}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert!(header(&response, "content-security-policy").contains("default-src 'self'"));
    }
    sup.stop().await;
}

#[tokio::test]
async fn an_unknown_dashboard_file_is_not_found() {
    let sup = common::TestSupervisor::start().await;
    for path in [
        "/assets/js/missing.js",
        "/assets/",
        "/assets/js/main.js.map",
    ] {
        let response = get(&sup, path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    }
    sup.stop().await;
}

#[tokio::test]
async fn a_websocket_on_root_still_reaches_the_rpc_server_beside_the_dashboard() {
    let sup = common::TestSupervisor::start().await;
    let url = sup.url.replace("http://", "ws://") + "/";
    let (mut socket, _) = bounded(tokio_tungstenite::connect_async(url))
        .await
        .unwrap();
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "get_supervisor_info",
                      "params": {"admin_secret": ADMIN}});
    bounded(socket.send(Message::text(call.to_string())))
        .await
        .unwrap();
    let answer = loop {
        match bounded(socket.next()).await.unwrap().unwrap() {
            Message::Text(text) => break serde_json::from_str::<Value>(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected message {other:?}"),
        }
    };
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["result"]["backend"]["status"], "ok", "{answer}");
    // And plain HTTP JSON-RPC on POST / is untouched.
    let discover = sup.call("rpc.discover", json!([])).await;
    assert!(discover["result"]["methods"].is_array(), "{discover}");
    sup.stop().await;
}
