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

/// Reads `stdout` until `done` holds for all of it read so far, within the test timeout.
async fn read_until(
    stdout: &mut tokio::process::ChildStdout,
    seen: &mut String,
    done: impl Fn(&str) -> bool,
) {
    use tokio::io::AsyncReadExt as _;
    let mut buffer = [0u8; 4096];
    while !done(seen) {
        let read = common::bounded(stdout.read(&mut buffer)).await.unwrap();
        assert!(read > 0, "the live view ended early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
}

#[tokio::test]
async fn on_a_terminal_watch_redraws_the_queue_lengths_and_the_latest_events() {
    let sup = Supervisor::start().await;
    // `script` gives `hero` a pseudo-terminal, as an ssh session would.
    let hero = env!("CARGO_BIN_EXE_hero");
    let mut command = tokio::process::Command::new("script");
    command
        .args(["-qfec", &format!("{hero} watch --interval 1"), "/dev/null"])
        .env("HERO_URL", &sup.url)
        .env("HERO_SECRET", ADMIN)
        .env("HERO_SUPERVISOR_DATA_DIR", sup.data_dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("script starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    read_until(&mut stdout, &mut seen, |s| {
        s.contains("QUEUED") && s.contains(common::RUNNER)
    })
    .await;
    assert!(
        seen.contains("\x1b[H\x1b[2J"),
        "the screen is redrawn in place: {seen}"
    );

    sup.hero(&["run", "40 + 2"]).await.expect(0);
    read_until(&mut stdout, &mut seen, |s| s.contains("→ 42")).await;
    child.kill().await.unwrap();
    sup.stop().await;
}
