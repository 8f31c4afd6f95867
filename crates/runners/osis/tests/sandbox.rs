//! Escape attempts from the `osis` sandbox: each fails with an error that says why.

use std::collections::BTreeMap;

use hero_osis_runner::Interrupt;
use hero_osis_runner::engine::{self, ScriptError};

fn failure(payload: &str) -> String {
    match engine::run(payload, &BTreeMap::new(), &Interrupt::new()) {
        Err(ScriptError::Failed(message)) => message,
        other => panic!("expected {payload:?} to fail, got {other:?}"),
    }
}

#[test]
fn import_cannot_read_a_script_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let module = dir.path().join("secret");
    std::fs::write(module.with_extension("rhai"), "export const SECRET = 1;")
        .expect("the temp dir is writable");
    let payload = format!("import {:?} as m; m::SECRET", module.display().to_string());
    let message = failure(&payload);
    assert!(message.starts_with("Module not found"), "{message}");
}

#[test]
fn import_cannot_read_a_system_file() {
    let message = failure(r#"import "/etc/passwd" as m;"#);
    assert!(message.starts_with("Module not found"), "{message}");
}

#[test]
fn no_file_process_or_environment_function_exists() {
    let attempts = [
        (r#"read_file("/etc/passwd")"#, "read_file"),
        (r#"write_file("/tmp/x", "y")"#, "write_file"),
        (r#"list_dir("/")"#, "list_dir"),
        (r#"remove("/tmp")"#, "remove"),
        (r#"run("sh", ["-c", "id"])"#, "run"),
        (r#"run_with("id", [], #{})"#, "run_with"),
        (r#"env_get("HOME")"#, "env_get"),
        (r#"env_set("PATH", "")"#, "env_set"),
        (r#"http_get("http://127.0.0.1/")"#, "http_get"),
    ];
    for (payload, function) in attempts {
        let message = failure(payload);
        assert!(
            message.starts_with(&format!("Function not found: {function}")),
            "{payload}: {message}"
        );
    }
}

#[test]
fn eval_is_held_to_the_same_sandbox() {
    let message = failure(r#"eval(`read_file("/etc/passwd")`)"#);
    assert!(
        message.contains("Function not found: read_file"),
        "{message}"
    );
    let message = failure(r#"eval(`import "/etc/passwd" as m;`)"#);
    assert!(message.contains("Module not found"), "{message}");
}

#[test]
fn a_function_pointer_cannot_reach_a_missing_function() {
    let message = failure(r#"Fn("run").call("id", [])"#);
    assert!(message.contains("Function not found: run"), "{message}");
}

#[test]
fn the_process_environment_is_not_visible() {
    assert!(std::env::var_os("PATH").is_some(), "tests run with a PATH");
    let output = engine::run(
        r#"[env("PATH"), ENV.len()]"#,
        &BTreeMap::new(),
        &Interrupt::new(),
    );
    assert_eq!(output, Ok("[(), 0]".to_owned()));
}
