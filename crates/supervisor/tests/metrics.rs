//! `GET /metrics` and `metrics.history` against a real supervisor, Redis and runners: the
//! figures match the jobs run, agree across supervisors sharing a store, include remote
//! runners' workers, and stay behind an admin secret when configured to.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{ADMIN, RUNNER, USER, bounded, job, until};
use hero_supervisor_openrpc_client::{JobResult, SupervisorClient};
use serde_json::json;
use tokio::sync::oneshot;

/// The body of `GET /metrics`, which must answer 200.
async fn scrape(http: &reqwest::Client, url: &str) -> String {
    let response = bounded(http.get(format!("{url}/metrics")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(kind, "text/plain; version=0.0.4; charset=utf-8");
    bounded(response.text()).await.unwrap()
}

/// The value of the sample `series` (a name and its labels, as written), 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.split(' ').next().unwrap().parse().unwrap())
}

fn runner_series(name: &str, runner: &str) -> String {
    format!("{name}{{runner=\"{runner}\"}}")
}

/// Runs `ok` jobs that complete and `bad` jobs that fail on the local runner, each to its end.
async fn run_jobs(client: &SupervisorClient, ok: usize, bad: usize) {
    for _ in 0..ok {
        let result = bounded(client.job_run(USER, job("40 + 2").build().unwrap()))
            .await
            .unwrap();
        assert_eq!(result, JobResult::success("42"));
    }
    for _ in 0..bad {
        let result = bounded(client.job_run(USER, job("throw \"boom\"").build().unwrap()))
            .await
            .unwrap();
        assert!(matches!(result, JobResult::Error { .. }), "{result:?}");
    }
}

#[tokio::test]
async fn a_scrape_counts_the_jobs_run_their_latencies_and_the_queues() {
    let sup = common::TestSupervisor::start().await;
    let before = scrape(&sup.http, &sup.url).await;
    assert_eq!(value(&before, "hero_backend_up"), 1.0, "{before}");
    run_jobs(&sup.client, 3, 2).await;
    // A queue nobody serves yet holds what is submitted to it.
    bounded(sup.client.register_runner(ADMIN, "idle", None))
        .await
        .unwrap();
    for _ in 0..2 {
        let waiting = job("1").runner("idle").build().unwrap();
        let id = bounded(sup.client.jobs_create(USER, waiting))
            .await
            .unwrap();
        bounded(sup.client.job_start(USER, &id)).await.unwrap();
    }
    let delta = |after: &str, series: &str| value(after, series) - value(&before, series);
    let submitted = runner_series("hero_jobs_submitted_total", RUNNER);
    let wait_count = runner_series("hero_job_wait_seconds_count", RUNNER);
    let duration_count = runner_series("hero_job_duration_seconds_count", RUNNER);
    // The histograms follow the store's announcements, which arrive on their own time.
    until("the histograms saw every job", || async {
        let after = scrape(&sup.http, &sup.url).await;
        delta(&after, &wait_count) == 5.0 && delta(&after, &duration_count) == 5.0
    })
    .await;
    let after = scrape(&sup.http, &sup.url).await;
    assert_eq!(delta(&after, &submitted), 5.0, "{after}");
    let finished = |status: &str| {
        delta(
            &after,
            &format!("hero_jobs_finished_total{{runner=\"{RUNNER}\",status=\"{status}\"}}"),
        )
    };
    assert_eq!(finished("completed"), 3.0, "{after}");
    assert_eq!(finished("failed"), 2.0, "{after}");
    let inf = format!("hero_job_duration_seconds_bucket{{le=\"+Inf\",runner=\"{RUNNER}\"}}");
    assert_eq!(delta(&after, &inf), 5.0, "{after}");
    assert!(
        value(
            &after,
            &runner_series("hero_job_duration_seconds_sum", RUNNER)
        ) > 0.0
    );
    assert_eq!(
        value(&after, &runner_series("hero_queue_length", "idle")),
        2.0,
        "{after}"
    );
    assert_eq!(
        value(&after, &runner_series("hero_jobs_submitted_total", "idle")),
        2.0
    );
    assert_eq!(
        value(&after, &runner_series("hero_queue_length", RUNNER)),
        0.0
    );
    assert_eq!(
        value(&after, &runner_series("hero_jobs_running", RUNNER)),
        0.0
    );
    assert_eq!(
        value(&after, &runner_series("hero_runner_up", RUNNER)),
        1.0,
        "{after}"
    );
    assert!(
        after.contains(&runner_series("hero_runner_up", "idle")),
        "{after}"
    );
    assert_eq!(value(&after, &runner_series("hero_runner_up", "idle")), 0.0);
    assert!(
        after.contains(&format!(
            "{} 0",
            runner_series("hero_runner_restarts_total", RUNNER)
        )),
        "{after}"
    );
    sup.stop().await;
}

#[tokio::test]
async fn a_running_job_shows_in_the_running_gauge() {
    let sup = common::TestSupervisor::start().await;
    let id = bounded(
        sup.client
            .jobs_create(USER, job("sleep(30)").build().unwrap()),
    )
    .await
    .unwrap();
    bounded(sup.client.job_start(USER, &id)).await.unwrap();
    let running = runner_series("hero_jobs_running", RUNNER);
    until("the job runs", || async {
        value(&scrape(&sup.http, &sup.url).await, &running) == 1.0
    })
    .await;
    bounded(sup.client.job_stop(USER, &id)).await.unwrap();
    until("the job is stopped", || async {
        let text = scrape(&sup.http, &sup.url).await;
        value(&text, &running) == 0.0
            && value(
                &text,
                &format!("hero_jobs_finished_total{{runner=\"{RUNNER}\",status=\"stopped\"}}"),
            ) == 1.0
    })
    .await;
    sup.stop().await;
}

/// A second supervisor on `sup`'s store, with no runner of its own; its URL and its stop.
async fn second_supervisor(sup: &common::TestSupervisor) -> (String, oneshot::Sender<()>) {
    let dir = sup.data_dir.path().join("second");
    let mut config = common::config(&sup.redis, &dir);
    config.actors.clear();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let running = bounded(hero_supervisor::start(config, listener))
        .await
        .unwrap();
    let url = running.url();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(running.serve_until(async {
        // A dropped sender also means stop.
        let _ = stopped.await;
    }));
    (url, stop)
}

#[tokio::test]
async fn two_supervisors_on_one_store_report_the_same_job_counts() {
    let sup = common::TestSupervisor::start().await;
    let (other, stop) = second_supervisor(&sup).await;
    run_jobs(&sup.client, 2, 1).await;
    // Jobs submitted through the second one count the same on both.
    let client = SupervisorClient::new(&other).unwrap();
    run_jobs(&client, 1, 0).await;
    let counts = |text: &str| -> Vec<String> {
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("hero_jobs_submitted") || l.starts_with("hero_jobs_finished"))
            .map(str::to_owned)
            .collect();
        lines.sort_unstable();
        lines
    };
    let here = scrape(&sup.http, &sup.url).await;
    let there = scrape(&sup.http, &other).await;
    assert_eq!(counts(&here), counts(&there));
    assert_eq!(
        value(&there, &runner_series("hero_jobs_submitted_total", RUNNER)),
        4.0
    );
    assert_eq!(
        value(
            &there,
            &format!("hero_jobs_finished_total{{runner=\"{RUNNER}\",status=\"completed\"}}")
        ),
        3.0,
        "{there}"
    );
    // Each supervisor measures every job's latency, wherever it was submitted.
    let duration_count = runner_series("hero_job_duration_seconds_count", RUNNER);
    until("both observed every end", || async {
        value(&scrape(&sup.http, &sup.url).await, &duration_count) == 4.0
            && value(&scrape(&sup.http, &other).await, &duration_count) == 4.0
    })
    .await;
    drop(stop);
    sup.stop().await;
}

#[tokio::test]
async fn a_remote_runners_worker_counters_appear() {
    let sup = common::TestSupervisor::start().await;
    bounded(sup.client.register_runner(ADMIN, "remote_1", None))
        .await
        .unwrap();
    // Started by hand, as on another host: same Redis, same namespace.
    let mut runner =
        tokio::process::Command::new(hero_test_support::workspace_binary("osis_runner"))
            .args([
                "--name",
                "remote_1",
                "--namespace",
                "test",
                "--concurrency",
                "3",
            ])
            .arg("--db-path")
            .arg(sup.data_dir.path().join("remote_db"))
            .env("HERO_REDIS_URL", sup.redis.url())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
    for payload in ["40 + 2", "throw \"boom\""] {
        let remote = job(payload).runner("remote_1").build().unwrap();
        bounded(sup.client.job_run(USER, remote)).await.unwrap();
    }
    let worker_line = |text: &str, name: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(name) && l.contains("runner=\"remote_1\""))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
    };
    // A worker writes its stats after a heartbeat, so they may lag its reports by a beat.
    until("the worker reported both jobs, done", || async {
        let text = scrape(&sup.http, &sup.url).await;
        worker_line(&text, "hero_worker_jobs_total") == Some(2.0)
            && worker_line(&text, "hero_worker_busy_slots") == Some(0.0)
    })
    .await;
    let text = scrape(&sup.http, &sup.url).await;
    assert_eq!(
        worker_line(&text, "hero_worker_failures_total"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(worker_line(&text, "hero_worker_slots"), Some(3.0), "{text}");
    assert_eq!(
        value(&text, &runner_series("hero_runner_up", "remote_1")),
        1.0,
        "{text}"
    );
    // The local actor reports itself through the same store.
    let local = format!("runner=\"{RUNNER}\"");
    until("the local actor reported itself", || async {
        let text = scrape(&sup.http, &sup.url).await;
        text.lines()
            .any(|l| l.starts_with("hero_worker_slots") && l.contains(&local))
    })
    .await;
    runner.kill().await.unwrap();
    sup.stop().await;
}

#[tokio::test]
async fn require_secret_refuses_a_missing_or_wrong_bearer_and_serves_an_admin() {
    let sup = common::TestSupervisor::start_with(|c| c.metrics.require_secret = true).await;
    let url = format!("{}/metrics", sup.url);
    let missing = bounded(sup.http.get(&url).send()).await.unwrap();
    assert_eq!(missing.status(), 401);
    for wrong in ["wrong-secret", USER] {
        let refused = bounded(sup.http.get(&url).bearer_auth(wrong).send())
            .await
            .unwrap();
        assert_eq!(refused.status(), 401, "{wrong}");
        let body = bounded(refused.text()).await.unwrap();
        assert!(!body.contains(wrong), "the refusal names no secret: {body}");
    }
    let served = bounded(sup.http.get(&url).bearer_auth(ADMIN).send())
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    let text = bounded(served.text()).await.unwrap();
    assert_eq!(value(&text, "hero_backend_up"), 1.0, "{text}");
    // /health stays open.
    assert!(sup.health().await.is_some());
    sup.stop().await;
}

#[tokio::test]
async fn a_scraper_asking_for_openmetrics_gets_it_and_others_the_classic_format() {
    let sup = common::TestSupervisor::start().await;
    let classic = scrape(&sup.http, &sup.url).await;
    assert!(
        classic.contains("# TYPE hero_runner_restarts_total counter\n"),
        "{classic}"
    );
    assert!(!classic.contains("# EOF"), "{classic}");
    let response = bounded(
        sup.http
            .get(format!("{}/metrics", sup.url))
            .header(
                "accept",
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
            )
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text; version=1.0.0")
    );
    let open = bounded(response.text()).await.unwrap();
    assert!(open.ends_with("# EOF\n"), "{open}");
    assert!(
        open.contains("# TYPE hero_runner_restarts counter\n"),
        "{open}"
    );
    sup.stop().await;
}

#[tokio::test]
async fn runners_past_the_label_cap_are_summed_under_one_label() {
    let sup = common::TestSupervisor::start().await;
    // Counters of 1,500 runner names, as a store that saw many names over time keeps them.
    let mut conn = redis::Client::open(sup.redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut fields = Vec::new();
    for n in 0..1_500 {
        fields.push((format!("submitted:gone_{n:04}"), 2));
    }
    let _: () = redis::cmd("HSET")
        .arg("test:v1:stats")
        .arg(fields)
        .query_async(&mut conn)
        .await
        .unwrap();
    let text = scrape(&sup.http, &sup.url).await;
    let series: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("hero_jobs_submitted_total{"))
        .collect();
    assert_eq!(
        series.len(),
        1_000,
        "one series per kept runner and one for the rest"
    );
    let total: f64 = series
        .iter()
        .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(total, 3_000.0);
    assert!(
        value(&text, &runner_series("hero_jobs_submitted_total", "_other")) > 0.0,
        "{text}"
    );
    assert!(
        text.lines()
            .filter(|line| line.starts_with("hero_queue_length{"))
            .count()
            <= 1_000
    );
    sup.stop().await;
}

#[tokio::test]
async fn rpc_calls_are_counted_by_method_and_code() {
    let sup = common::TestSupervisor::start().await;
    bounded(sup.client.supervisor_info(ADMIN)).await.unwrap();
    bounded(sup.client.supervisor_info(ADMIN)).await.unwrap();
    assert_eq!(
        sup.error_code("get_supervisor_info", json!([USER])).await,
        -32001
    );
    let text = scrape(&sup.http, &sup.url).await;
    let calls = |code: &str| {
        value(
            &text,
            &format!("hero_rpc_requests_total{{method=\"get_supervisor_info\",code=\"{code}\"}}"),
        )
    };
    assert_eq!(calls("0"), 2.0, "{text}");
    assert_eq!(calls("-32001"), 1.0, "{text}");
    assert_eq!(
        value(
            &text,
            "hero_rpc_duration_seconds_count{method=\"get_supervisor_info\"}"
        ),
        3.0,
        "{text}"
    );
    sup.stop().await;
}

#[tokio::test]
async fn an_unknown_method_adds_no_label() {
    let sup = common::TestSupervisor::start().await;
    assert_eq!(sup.error_code("no.such_method", json!([])).await, -32601);
    let text = scrape(&sup.http, &sup.url).await;
    assert!(!text.contains("no.such_method"), "{text}");
    assert!(!text.contains("-32601"), "{text}");
    sup.stop().await;
}

#[tokio::test]
async fn metrics_history_returns_samples_after_an_interval() {
    let sup = common::TestSupervisor::start_with(|c| c.metrics.history_interval_secs = 1).await;
    run_jobs(&sup.client, 2, 1).await;
    until("the history holds the jobs and their latencies", || async {
        let history = bounded(sup.client.metrics_history(ADMIN)).await.unwrap();
        let samples = &history.samples;
        samples.iter().map(|s| s.completed).sum::<u64>() == 2
            && samples.iter().map(|s| s.failed).sum::<u64>() == 1
            && samples.iter().any(|s| s.wait_p50_ms.is_some())
            && samples.iter().any(|s| s.duration_p95_ms.is_some())
    })
    .await;
    let history = bounded(sup.client.metrics_history(ADMIN)).await.unwrap();
    assert_eq!(history.interval_secs, 1);
    let samples = &history.samples;
    assert_eq!(samples.iter().map(|s| s.submitted).sum::<u64>(), 3);
    assert!(
        samples.windows(2).all(|w| w[0].at_ms < w[1].at_ms),
        "oldest first"
    );
    for sample in samples {
        assert_eq!(sample.wait_p50_ms.is_some(), sample.wait_p95_ms.is_some());
        assert_eq!(
            sample.duration_p50_ms.is_some(),
            sample.duration_p95_ms.is_some()
        );
    }
    // A sample taken after every job ended sees none running or queued (one taken while
    // they ran may).
    let ended = samples.last().unwrap().at_ms;
    until("a sample after the jobs ended", || async {
        let history = bounded(sup.client.metrics_history(ADMIN)).await.unwrap();
        history
            .samples
            .last()
            .is_some_and(|s| s.at_ms > ended && s.running == 0 && s.queued == 0)
    })
    .await;
    assert_eq!(
        sup.error_code("metrics.history", json!([USER])).await,
        -32001
    );
    sup.stop().await;
}

#[tokio::test]
async fn the_grafana_dashboard_charts_only_metrics_the_supervisor_serves() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/grafana/hero-supervisor.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut families = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if let Some(name) = word.strip_prefix("hero_") {
                    let family = ["_bucket", "_total"]
                        .iter()
                        .fold(name, |n, suffix| n.strip_suffix(suffix).unwrap_or(n));
                    families.insert(format!("hero_{family}"));
                }
            }
        }
    }
    assert!(families.len() >= 10, "{families:?}");
    let sup = common::TestSupervisor::start().await;
    run_jobs(&sup.client, 1, 0).await;
    until("every charted family is served", || async {
        let text = scrape(&sup.http, &sup.url).await;
        // The classic format names a counter family with its `_total` suffix.
        families.iter().all(|family| {
            text.contains(&format!("# TYPE {family} "))
                || text.contains(&format!("# TYPE {family}_total counter\n"))
        })
    })
    .await;
    sup.stop().await;
}
