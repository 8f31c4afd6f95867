//! Every script limit of the `osis` engine triggers, with a message naming the limit, and
//! cannot be caught by the script.

use std::collections::BTreeMap;

use hero_osis_runner::engine::{Script, ScriptError};
use hero_osis_runner::{Interrupt, Limits};

/// Runs `payload` under `limits` and returns its failure message.
fn failure(limits: Limits, payload: &str) -> String {
    let script = Script::new("limits-test", &limits, &Interrupt::new());
    match script.run(payload, &BTreeMap::new()) {
        Err(ScriptError::Failed(message)) => message,
        other => panic!("expected {payload:?} to fail, got {other:?}"),
    }
}

fn assert_starts_with(message: &str, expected: &str) {
    assert!(
        message.starts_with(expected),
        "{message:?} should start with {expected:?}"
    );
}

#[test]
fn operations_are_limited() {
    let limits = Limits {
        max_operations: 1000,
        ..Limits::default()
    };
    let message = failure(limits, "loop { try { loop {} } catch {} }");
    assert_starts_with(
        &message,
        "script exceeded the limit of 1000 operations (line 1",
    );
}

#[test]
fn operations_inside_a_function_are_limited_with_the_same_message() {
    let limits = Limits {
        max_operations: 1000,
        ..Limits::default()
    };
    let message = failure(limits, "fn spin() { loop {} } spin()");
    assert_starts_with(&message, "script exceeded the limit of 1000 operations");
}

#[test]
fn string_length_is_limited() {
    let limits = Limits {
        max_string_bytes: 100,
        ..Limits::default()
    };
    let message = failure(limits, r#"let s = "x"; loop { s += s; }"#);
    assert_starts_with(&message, "a string exceeded the limit of 100 bytes");
    let literal = format!("let s = \"{}\";", "y".repeat(101));
    let message = failure(limits, &literal);
    assert_starts_with(&message, "a string exceeded the limit of 100 bytes");
}

#[test]
fn array_length_is_limited() {
    let limits = Limits {
        max_array_len: 10,
        ..Limits::default()
    };
    let message = failure(limits, "let a = []; loop { a.push(1); }");
    assert_starts_with(&message, "an array exceeded the limit of 10 items");
}

#[test]
fn map_size_is_limited() {
    let limits = Limits {
        max_map_len: 10,
        ..Limits::default()
    };
    let message = failure(
        limits,
        "let m = #{}; let i = 0; loop { m[`k${i}`] = i; i += 1; }",
    );
    assert_starts_with(&message, "an object map exceeded the limit of 10 entries");
}

#[test]
fn call_depth_is_limited() {
    let limits = Limits {
        max_call_depth: 5,
        ..Limits::default()
    };
    let message = failure(limits, "fn down(n) { down(n + 1) } down(0)");
    assert_starts_with(
        &message,
        "script exceeded the limit of 5 nested function calls",
    );
}

#[test]
fn expression_depth_is_limited() {
    let limits = Limits {
        max_expr_depth: 10,
        ..Limits::default()
    };
    let nested = format!("{}1{}", "(".repeat(20), ")".repeat(20));
    let message = failure(limits, &nested);
    assert_starts_with(
        &message,
        "script exceeded the limit of 10 nested expressions (5 in function bodies)",
    );
}

#[test]
fn printed_output_is_limited() {
    let limits = Limits {
        max_output_bytes: 100,
        ..Limits::default()
    };
    let message = failure(limits, r#"loop { print("0123456789"); }"#);
    assert_eq!(message, "script printed more than the limit of 100 bytes");
}

#[test]
fn the_default_limits_allow_ordinary_scripts() {
    let script = Script::new("limits-test", &Limits::default(), &Interrupt::new());
    let payload = "fn fib(n) { if n < 2 { n } else { fib(n - 1) + fib(n - 2) } } fib(15)";
    assert_eq!(script.run(payload, &BTreeMap::new()), Ok("610".to_owned()));
}

#[test]
fn nesting_data_past_the_depth_limit_fails_at_once() {
    let started = std::time::Instant::now();
    let payload = "let a = []; for i in 0..100000 { a = [a]; } a";
    let message = failure(Limits::default(), payload);
    assert_starts_with(
        &message,
        "data exceeded the limit of 64 levels of nesting (arrays and maps)",
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn data_depth_is_limited_for_maps_pushes_and_nested_assignments() {
    let limits = Limits {
        max_data_depth: 10,
        ..Limits::default()
    };
    let expected = "data exceeded the limit of 10 levels of nesting (arrays and maps)";
    for payload in [
        "let m = #{}; loop { m = #{ inner: m }; }",
        "let a = []; loop { let b = a; a.push(b); }",
        "let a = [[]]; loop { a[0] = [a[0]]; }",
        "fn wrap(x) { [x] } let a = []; loop { a = wrap(a); }",
        "let a = []; loop { try { a = [a]; } catch {} }",
        // A method grows `this` without reading a variable.
        "fn grow() { loop { this = [this]; } } let a = []; a.grow();",
        "fn grow() { loop { this = #{ x: this }; } } let m = #{}; m.grow();",
        "fn grow() { loop { this[0] = [this[0]]; } } let a = [[]]; a.grow();",
    ] {
        assert_starts_with(&failure(limits, payload), expected);
    }
}

#[test]
fn reading_a_large_array_in_a_loop_stays_fast() {
    // The depth of a value found shallow is trusted for a while, and only the items a push
    // adds are walked: without that, this loop walked all 30 000 items at each step.
    let started = std::time::Instant::now();
    let payload = "let a = []; for i in 0..30000 { a.push(i); } \
                   let s = 0; for i in 0..30000 { s += a[i]; } s";
    let script = Script::new("limits-test", &Limits::default(), &Interrupt::new());
    assert_eq!(
        script.run(payload, &BTreeMap::new()),
        Ok("449985000".to_owned())
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn data_at_the_depth_limit_is_allowed() {
    let limits = Limits {
        max_data_depth: 10,
        ..Limits::default()
    };
    let script = Script::new("limits-test", &limits, &Interrupt::new());
    let payload = "let a = []; for i in 0..9 { a = [a]; } let b = a; to_json(b).len()";
    assert_eq!(script.run(payload, &BTreeMap::new()), Ok("20".to_owned()));
}

#[test]
fn the_deepest_value_a_script_can_build_prints_and_drops_safely() {
    // Without reading a variable in between, data grows only through nested literals in
    // nested calls: as deep as the call and expression limits allow. The runner gives each
    // script thread the stack its limits need; so does this test.
    let nest = format!("{}f(n - 1){}", "[".repeat(6), "]".repeat(6));
    let deepest = format!("fn f(n) {{ if n == 0 {{ [] }} else {{ {nest} }} }} f(60)");
    let limits = Limits::default();
    let printed = std::thread::Builder::new()
        .stack_size(limits.stack_bytes())
        .spawn(move || {
            let script = Script::new("limits-test", &limits, &Interrupt::new());
            script.run(&deepest, &BTreeMap::new())
        })
        .expect("a script thread")
        .join()
        .expect("the script thread does not overflow its stack")
        .expect("the script prints its value");
    assert_eq!(printed.matches('[').count(), 60 * 6 + 1);
}

#[test]
fn a_map_of_large_strings_fails_at_once_naming_the_string_limit() {
    let payload = r#"let s = "x"; s.pad(5000000, "x"); let m = #{}; for i in 0..300 { m[`k${i}`] = s; } m.len()"#;
    let message = failure(Limits::default(), payload);
    assert_starts_with(&message, "a string exceeded the limit of 10485760 bytes");
}
