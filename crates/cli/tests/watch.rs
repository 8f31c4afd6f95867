//! `hero watch` when stdout is not a terminal: one line per job event.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{ADMIN, Running, Supervisor, job};

#[tokio::test]
async fn watch_prints_one_line_per_event_of_jobs_run_meanwhile() {
    let sup = Supervisor::start().await;
    let mut watch = Running::spawn(sup.command(&["watch"], &[("HERO_SECRET", ADMIN)]));
    let ready = watch.stderr_line().await;
    assert!(ready.starts_with("watching jobs at"), "{ready}");

    let id = sup
        .client
        .jobs_create(ADMIN, job("40 + 2").build().unwrap())
        .await
        .unwrap();
    sup.client.job_start(ADMIN, &id).await.unwrap();
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|line: &String| line.contains(" completed "))
    {
        let line = watch.line().await;
        assert!(line.contains(&id), "{line}");
        seen.push(line);
    }
    assert!(seen.iter().any(|l| l.contains(" queued ")), "{seen:?}");
    assert!(seen.last().unwrap().ends_with("→ 42"), "{seen:?}");
    watch.kill().await;
    sup.stop().await;
}

#[tokio::test]
async fn watch_with_json_prints_one_event_object_per_line() {
    let sup = Supervisor::start().await;
    let mut watch = Running::spawn(sup.command(&["--json", "watch"], &[("HERO_SECRET", ADMIN)]));
    watch.stderr_line().await;

    sup.hero(&["run", "1 + 1"]).await.expect(0);
    loop {
        let event: serde_json::Value = serde_json::from_str(&watch.line().await).unwrap();
        assert!(event["job_id"].is_string(), "{event}");
        if event["status"] == "completed" {
            assert_eq!(event["result"]["success"], "2");
            break;
        }
    }
    watch.kill().await;
    sup.stop().await;
}
