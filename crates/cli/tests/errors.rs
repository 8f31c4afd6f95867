//! Exit statuses and the secret's sources: a refused or unreachable supervisor exits 3, a
//! usage error 2; without `--secret`, a local supervisor's generated secret file is used.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{ADMIN, Supervisor};

#[tokio::test]
async fn a_wrong_secret_exits_3_without_echoing_it() {
    let sup = Supervisor::start().await;
    let wrong = [("HERO_SECRET", "not-the-secret-at-all")];
    let run = sup.hero_with(&["run", "1"], &wrong, None).await.expect(3);
    assert!(run.stderr.contains("unauthorized"), "{run:?}");
    assert!(!run.stderr.contains("not-the-secret-at-all"), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "one line: {run:?}");
    let flag = sup
        .hero_with(&["--secret", "not-the-secret-at-all", "info"], &[], None)
        .await
        .expect(3);
    assert!(!flag.stderr.contains("not-the-secret-at-all"), "{flag:?}");
    sup.stop().await;
}

#[tokio::test]
async fn nothing_listening_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}", hero_test_support::free_port());
    for args in [
        &["run", "1"][..],
        &["jobs"],
        &["watch"],
        &["status", "some-id"],
    ] {
        let mut command = common::command(
            args,
            dir.path(),
            &[("HERO_URL", &url), ("HERO_SECRET", ADMIN)],
            &[],
        );
        let run = common::run(&mut command, None).await.expect(3);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {run:?}");
        assert!(run.stderr.starts_with("hero: "), "{run:?}");
    }
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["frobnicate"][..],
        &["run", "1", "--timeout", "soon"],
        &["run", "1", "--timeout", "0"],
        &["jobs", "--status", "sleeping"],
        &["jobs", "--limit", "0"],
        &["jobs", "--limit", "10001"],
        &["--url", "not a url", "jobs"],
    ] {
        let mut command = common::command(args, dir.path(), &[("HERO_SECRET", ADMIN)], &[]);
        common::run(&mut command, None).await.expect(2);
    }
    // An empty stdin is no payload.
    let mut command = common::command(&["run"], dir.path(), &[("HERO_SECRET", ADMIN)], &[]);
    let run = common::run(&mut command, None).await.expect(2);
    assert!(run.stderr.contains("payload"), "{run:?}");
    // No secret given, and the supervisor is not on this machine: its secret file is not ours.
    let mut command = common::command(
        &["jobs"],
        dir.path(),
        &[("HERO_URL", "http://10.255.255.1:3030")],
        &[],
    );
    let run = common::run(&mut command, None).await.expect(2);
    assert!(run.stderr.contains("HERO_SECRET"), "{run:?}");
}

#[tokio::test]
async fn without_a_secret_a_local_supervisors_secret_file_is_used() {
    let sup = Supervisor::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = [("HERO_URL", sup.url.as_str())];
    let mut command = common::command(&["info"], dir.path(), &url, &[]);
    common::run(&mut command, None).await.expect(2);

    std::fs::write(dir.path().join("admin_secret"), format!("{ADMIN}\n")).unwrap();
    let mut command = common::command(&["--json", "info"], dir.path(), &url, &[]);
    let run = common::run(&mut command, None).await.expect(0);
    assert_eq!(run.json()["backend"]["kind"], "redis");

    // An explicit secret wins over the file.
    let mut command = common::command(
        &["info"],
        dir.path(),
        &url,
        &[("HERO_SECRET", "wrong-secret")],
    );
    common::run(&mut command, None).await.expect(3);

    // HOME is the fallback of the data directory, as for the supervisor.
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join(".local/share/hero-supervisor");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("admin_secret"), ADMIN).unwrap();
    let mut command = common::command(
        &["info"],
        dir.path(),
        &url,
        &[("HOME", home.path().to_str().unwrap())],
    );
    command.env_remove("HERO_SUPERVISOR_DATA_DIR");
    common::run(&mut command, None).await.expect(0);
    sup.stop().await;
}
