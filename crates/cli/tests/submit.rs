//! `hero submit FILE.jsonl`: many jobs in chunks, bad lines set aside with their numbers.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use std::fmt::Write as _;

use common::{ADMIN, RUNNER, Supervisor};
use hero_supervisor_openrpc_client::ListFilter;

/// `count` job lines, every one valid except those at the 1-based `bad` line numbers.
fn jsonl(count: usize, bad: &[(usize, &str)]) -> String {
    let mut text = String::new();
    for n in 1..=count {
        match bad.iter().find(|(line, _)| *line == n) {
            Some((_, line)) => text.push_str(line),
            None => write!(
                text,
                r#"{{"payload": "{n}", "executor": "osis", "runner": "{RUNNER}"}}"#
            )
            .unwrap(),
        }
        text.push('\n');
    }
    text
}

#[tokio::test]
async fn submit_stores_every_good_line_and_names_the_bad_ones() {
    let sup = Supervisor::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.jsonl");
    let bad = [
        (17, "{not json"),
        (
            1203,
            r#"{"payload": "1", "executor": "osis", "runner": "nobody"}"#,
        ),
        (
            2400,
            r#"{"payload": "", "executor": "osis", "runner": "osis_runner_1"}"#,
        ),
    ];
    std::fs::write(&file, jsonl(2_500, &bad)).unwrap();

    let run = sup
        .hero(&["--json", "submit", file.to_str().unwrap(), "--no-start"])
        .await
        .expect(1);
    let summary = run.json();
    assert_eq!(summary["submitted"], 2_497, "{}", run.stderr);
    let refused: Vec<u64> = summary["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(refused, [17, 1203, 2400]);
    assert!(
        summary["refused"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("nobody")
    );

    let filter = ListFilter {
        limit: Some(10_000),
        ..ListFilter::default()
    };
    let stored = sup.client.jobs_list_filtered(ADMIN, &filter).await.unwrap();
    assert_eq!(stored.len(), 2_497);
    assert_eq!(summary["ids"].as_array().unwrap().len(), 2_497);
    sup.stop().await;
}

#[tokio::test]
async fn submit_prints_a_summary_with_the_refused_line_numbers() {
    let sup = Supervisor::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.jsonl");
    std::fs::write(&file, jsonl(5, &[(3, "[1, 2]")])).unwrap();
    let run = sup
        .hero(&["submit", file.to_str().unwrap(), "--chunk", "2"])
        .await
        .expect(1);
    assert!(
        run.stdout
            .starts_with("submitted 4 jobs\nrefused 1 line:\n  line 3: "),
        "{run:?}"
    );

    let clean = sup
        .hero_with(
            &["submit", "-", "--runner", RUNNER, "--executor", "osis"],
            &[("HERO_SECRET", ADMIN)],
            Some("{\"payload\": \"1\"}\n\n{\"payload\": \"2\"}\n"),
        )
        .await
        .expect(0);
    assert_eq!(clean.stdout, "submitted 2 jobs\n");
    sup.stop().await;
}

#[tokio::test]
async fn a_chunk_larger_than_the_servers_limit_is_sent_in_smaller_calls() {
    let sup = Supervisor::start_with(|config| config.limits.max_jobs_per_call = 300).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.jsonl");
    std::fs::write(&file, jsonl(1_000, &[])).unwrap();
    let run = sup
        .hero(&["--json", "submit", file.to_str().unwrap(), "--no-start"])
        .await
        .expect(0);
    assert_eq!(run.json()["submitted"], 1_000);
    sup.stop().await;
}

#[tokio::test]
async fn a_chunk_over_the_request_size_limit_is_halved_until_it_fits() {
    let sup = Supervisor::start_with(|config| config.limits.max_request_bytes = 256 << 10).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.jsonl");
    let payload = "1;".repeat(500);
    let lines: String = (0..1_000)
        .map(|n| format!("{{\"payload\": \"{payload}{n}\", \"executor\": \"osis\", \"runner\": \"{RUNNER}\"}}\n"))
        .collect();
    std::fs::write(&file, lines).unwrap();
    let run = sup
        .hero(&["--json", "submit", file.to_str().unwrap(), "--no-start"])
        .await
        .expect(0);
    assert_eq!(run.json()["submitted"], 1_000);
    sup.stop().await;
}
