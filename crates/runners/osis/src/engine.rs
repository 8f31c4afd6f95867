//! The sandboxed Rhai engine and how one script runs on it.
//!
//! [`new_engine`] builds an engine with limits, `print`/`debug` capture, `sleep` and the
//! interrupt check; [`run_with`] runs a payload on it and renders the result (contract §9).
//! [`run`] does both; another runner registers its own functions between the two steps.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rhai::module_resolvers::DummyModuleResolver;
use rhai::{Dynamic, Engine, EvalAltResult, FLOAT, INT, Map, Position, Scope};

/// Longest uninterrupted nap inside `sleep`, so an interrupt ends it promptly.
const SLEEP_SLICE: Duration = Duration::from_millis(50);

/// Shared flag that asks a running script to stop; set from another thread.
#[derive(Clone, Default, Debug)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// Creates a flag that is not triggered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the script to stop; it ends with [`ScriptError::Interrupted`] at its next operation.
    pub fn trigger(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`trigger`](Self::trigger) has been called on this flag or a clone of it.
    pub fn is_triggered(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Why a script did not produce a result.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScriptError {
    /// The script did not parse, failed at run time or threw; the message is Rhai's.
    #[error("{0}")]
    Failed(String),
    /// The script's [`Interrupt`] was triggered.
    #[error("script interrupted")]
    Interrupted,
}

/// The lines a script printed, shared between the engine's `print` hook and the caller.
#[derive(Clone, Default, Debug)]
pub struct Output(Arc<Mutex<Vec<String>>>);

impl Output {
    /// Creates an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one printed line.
    pub fn push(&self, line: &str) {
        self.lines().push(line.to_owned());
    }

    /// Removes and returns every line printed so far, oldest first.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines())
    }

    fn lines(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        // A panic while holding the lock cannot leave the Vec half-updated, so poison is harmless.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs `payload` as a Rhai script in the sandbox and returns its output.
///
/// The output is the printed lines joined with `\n`, then the final value when it is not `()`.
/// `env_vars` are visible as the constant map `ENV` and through `env(name)`.
/// Blocking: call from a blocking thread.
///
/// # Errors
///
/// [`ScriptError::Failed`] when the script does not parse, fails or throws;
/// [`ScriptError::Interrupted`] when `interrupt` is triggered before it ends.
pub fn run(
    payload: &str,
    env_vars: &BTreeMap<String, String>,
    interrupt: &Interrupt,
) -> Result<String, ScriptError> {
    let output = Output::new();
    let engine = new_engine(&output, interrupt);
    run_with(engine, &output, payload, env_vars)
}

/// Builds the sandboxed engine: no file, process or network access, bounded nesting and sizes.
///
/// `print` appends to `output`, `debug` goes to `tracing` at debug level, `sleep(seconds)`
/// accepts integer and float seconds, and every operation checks `interrupt`. There is no
/// operation limit: the job's timeout bounds long scripts through `interrupt`.
pub fn new_engine(output: &Output, interrupt: &Interrupt) -> Engine {
    let mut engine = Engine::new();
    // `Engine::new` resolves `import` from files; the sandbox allows no file access.
    engine.set_module_resolver(DummyModuleResolver::new());
    engine
        .set_max_call_levels(64)
        .set_max_expr_depths(64, 32)
        .set_max_string_size(10 * 1024 * 1024)
        .set_max_array_size(1_000_000)
        .set_max_map_size(100_000);

    let print_output = output.clone();
    engine.on_print(move |text| print_output.push(text));
    engine.on_debug(|text, source, position| {
        tracing::debug!(source = source.unwrap_or(""), %position, "script: {text}");
    });

    let progress_interrupt = interrupt.clone();
    engine.on_progress(move |_| progress_interrupt.is_triggered().then_some(Dynamic::UNIT));
    register_sleep(&mut engine, interrupt);
    engine
}

/// Runs `payload` on an engine from [`new_engine`] and renders the result from `output`.
///
/// Adds `ENV` and `env(name)` for `env_vars` (replacing any `env(string)` registered before),
/// then behaves as [`run`].
///
/// # Errors
///
/// As [`run`].
pub fn run_with(
    mut engine: Engine,
    output: &Output,
    payload: &str,
    env_vars: &BTreeMap<String, String>,
) -> Result<String, ScriptError> {
    let env: Map = env_vars
        .iter()
        .map(|(name, value)| (name.into(), value.clone().into()))
        .collect();
    let mut scope = Scope::new();
    scope.push_constant("ENV", env.clone());
    engine.register_fn("env", move |name: &str| {
        env.get(name).cloned().unwrap_or(Dynamic::UNIT)
    });

    let value = engine
        .eval_with_scope::<Dynamic>(&mut scope, payload)
        .map_err(|error| script_error(*error))?;
    let mut lines = output.take();
    if !value.is_unit() {
        lines.push(value.to_string());
    }
    Ok(lines.join("\n"))
}

fn script_error(error: EvalAltResult) -> ScriptError {
    match error {
        // Only `on_progress` and `sleep` terminate a script, and both do so for the interrupt.
        EvalAltResult::ErrorTerminated(..) => ScriptError::Interrupted,
        other => ScriptError::Failed(other.to_string()),
    }
}

fn register_sleep(engine: &mut Engine, interrupt: &Interrupt) {
    let int_interrupt = interrupt.clone();
    engine.register_fn("sleep", move |seconds: INT| {
        let duration = u64::try_from(seconds)
            .map(Duration::from_secs)
            .map_err(|_| invalid_sleep(&seconds))?;
        sleep(&int_interrupt, duration)
    });
    let float_interrupt = interrupt.clone();
    engine.register_fn("sleep", move |seconds: FLOAT| {
        let duration = Duration::try_from_secs_f64(seconds).map_err(|_| invalid_sleep(&seconds))?;
        sleep(&float_interrupt, duration)
    });
}

fn invalid_sleep(seconds: &dyn std::fmt::Display) -> Box<EvalAltResult> {
    format!("sleep: {seconds} is not a valid number of seconds").into()
}

/// Sleeps for `duration` in slices, ending the script as soon as `interrupt` is triggered.
fn sleep(interrupt: &Interrupt, duration: Duration) -> Result<(), Box<EvalAltResult>> {
    let start = Instant::now();
    loop {
        if interrupt.is_triggered() {
            return Err(EvalAltResult::ErrorTerminated(Dynamic::UNIT, Position::NONE).into());
        }
        let left = duration.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Ok(());
        }
        thread::sleep(left.min(SLEEP_SLICE));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    fn run_script(payload: &str) -> Result<String, ScriptError> {
        run(payload, &BTreeMap::new(), &Interrupt::new())
    }

    /// Runs `payload` on its own thread, triggers the interrupt after 100 ms and returns the
    /// result, failing if the script has not ended 2 s after it started.
    fn run_interrupted(payload: &'static str) -> Result<String, ScriptError> {
        let interrupt = Interrupt::new();
        let (done_tx, done_rx) = mpsc::channel();
        let script_interrupt = interrupt.clone();
        thread::spawn(move || {
            let result = run(payload, &BTreeMap::new(), &script_interrupt);
            // The receiver is gone only when the test has already failed on its deadline.
            let _ = done_tx.send(result);
        });
        let trigger = thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            interrupt.trigger();
        });
        let result = done_rx
            .recv_timeout(Duration::from_secs(2))
            .expect("the script ends within 2 s");
        trigger.join().expect("the trigger thread does not panic");
        result
    }

    fn failure_message(result: Result<String, ScriptError>) -> String {
        match result {
            Err(ScriptError::Failed(message)) => message,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn arithmetic_returns_its_value() {
        assert_eq!(run_script("40 + 2"), Ok("42".to_string()));
    }

    #[test]
    fn print_becomes_the_output() {
        assert_eq!(run_script(r#"print("Hello")"#), Ok("Hello".to_string()));
    }

    #[test]
    fn prints_are_followed_by_the_final_value() {
        assert_eq!(
            run_script(r#"print("a"); print("b"); 1 + 1"#),
            Ok("a\nb\n2".to_string())
        );
    }

    #[test]
    fn a_string_value_is_rendered_without_quotes() {
        assert_eq!(run_script(r#""done""#), Ok("done".to_string()));
    }

    #[test]
    fn a_unit_result_adds_nothing_to_the_prints() {
        assert_eq!(run_script(r#"print("a"); let x = 1;"#), Ok("a".to_string()));
        assert_eq!(run_script("let x = 1;"), Ok(String::new()));
    }

    #[test]
    fn debug_output_is_not_part_of_the_result() {
        assert_eq!(
            run_script(r#"debug("hidden"); print("shown")"#),
            Ok("shown".to_string())
        );
    }

    #[test]
    fn a_thrown_error_fails_with_its_message() {
        assert!(failure_message(run_script(r#"throw "boom""#)).contains("boom"));
    }

    #[test]
    fn a_syntax_error_fails() {
        failure_message(run_script("let x = ;"));
    }

    #[test]
    fn an_undefined_variable_fails() {
        assert!(failure_message(run_script("missing + 1")).contains("missing"));
    }

    #[test]
    fn import_cannot_read_files() {
        let module = std::env::temp_dir().join(format!("osis-import-{}", std::process::id()));
        let file = module.with_extension("rhai");
        std::fs::write(&file, "export const SECRET = 1;").expect("the temp dir is writable");
        let payload = format!("import {:?} as m; m::SECRET", module.display().to_string());
        let result = run_script(&payload);
        std::fs::remove_file(&file).expect("the module file was just written");
        assert!(failure_message(result).contains("Module not found"));
    }

    #[test]
    fn env_vars_are_visible_as_env_map_and_env_function() {
        let env_vars = BTreeMap::from([("NAME".to_string(), "World".to_string())]);
        let payload = r#"ENV["NAME"] + " " + env("NAME") + " " + (env("MISSING") == ())"#;
        assert_eq!(
            run(payload, &env_vars, &Interrupt::new()),
            Ok("World World true".to_string())
        );
    }

    #[test]
    fn sleep_accepts_int_and_float_seconds() {
        let start = Instant::now();
        assert_eq!(
            run_script(r#"sleep(0); sleep(0.1); "awake""#),
            Ok("awake".to_string())
        );
        assert!(start.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn sleep_rejects_negative_seconds() {
        failure_message(run_script("sleep(-1)"));
    }

    #[test]
    fn interrupt_stops_an_endless_loop() {
        assert_eq!(run_interrupted("loop {}"), Err(ScriptError::Interrupted));
    }

    #[test]
    fn interrupt_stops_a_long_sleep() {
        assert_eq!(run_interrupted("sleep(30)"), Err(ScriptError::Interrupted));
    }

    #[test]
    fn a_script_cannot_catch_the_interrupt() {
        let payload = r#"loop { try { sleep(30) } catch { print("caught") } }"#;
        assert_eq!(run_interrupted(payload), Err(ScriptError::Interrupted));
    }
}
