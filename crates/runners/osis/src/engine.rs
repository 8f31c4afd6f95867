//! One script run (contract §9): [`Script`] builds the engine, runs a payload and renders
//! the result.
//!
//! The engine has no file, process or network access; it applies the [`Limits`], captures
//! `print`, logs `debug`, offers `sleep`, `to_json`/`from_json` and the job's variables
//! (`ENV`, `env(name)`), reads single-quoted text of more than one character as a string,
//! and ends at the [`Interrupt`]. Another runner adds its functions
//! through [`Script::engine_mut`] before [`Script::run`]; [`run`] is the plain case.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rhai::module_resolvers::DummyModuleResolver;
use rhai::{Dynamic, Engine, EvalAltResult, LexError, Map, Scope, Token};

use crate::depth::{self, DepthCheck};
use crate::interrupt::{Interrupt, register_sleep};
use crate::json;
use crate::limits::Limits;
use crate::output::Output;

/// Why a script did not produce a result.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScriptError {
    /// The script did not parse, failed at run time, threw or went over a limit; the
    /// message says which.
    #[error("{0}")]
    Failed(String),
    /// The script's [`Interrupt`] was triggered.
    #[error("script interrupted")]
    Interrupted,
}

/// One script run: the engine it runs on and what it prints.
pub struct Script {
    engine: Engine,
    output: Output,
    interrupt: Interrupt,
    limits: Limits,
    /// Shared with the engine's hooks; `run` adds one for scripts that use `this`.
    depth: Arc<DepthCheck>,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Rhai's standard library, built on first use and shared by every engine of the process.
fn standard_library() -> rhai::Shared<rhai::Module> {
    use rhai::packages::Package;
    static LIBRARY: std::sync::OnceLock<rhai::Shared<rhai::Module>> = std::sync::OnceLock::new();
    LIBRARY
        .get_or_init(|| rhai::packages::StandardPackage::new().as_shared_module())
        .clone()
}

impl Script {
    /// Builds the engine for a script of job `job_id`, bounded by `limits`, ended by
    /// `interrupt`.
    ///
    /// Each printed line is kept for the result and logged at info level with the job id;
    /// `debug` goes to the log at debug level only. There is no file, process or network
    /// access: `import` finds no module.
    pub fn new(job_id: &str, limits: &Limits, interrupt: &Interrupt) -> Self {
        // `Engine::new` builds the standard library anew (about a millisecond, most of a
        // short job's cost) and resolves `import` from files; a raw engine with the library
        // built once and shared, and no module resolver, does neither.
        let mut engine = Engine::new_raw();
        engine.register_global_module(standard_library());
        engine.set_module_resolver(DummyModuleResolver::new());
        let depth = Arc::new(DepthCheck::new(limits.max_data_depth));
        limits.apply(&mut engine, depth.clone());

        let output = Output::new(job_id, limits.max_output_bytes);
        let print_output = output.clone();
        engine.on_print(move |text| print_output.push(text));
        let debug_job = job_id.to_owned();
        engine.on_debug(move |text, source, position| {
            let source = source.unwrap_or("");
            tracing::debug!(job = %debug_job, source, %position, "script: {text}");
        });
        // Terminating is the engine's only way to end a script from a hook; `run` tells the
        // two causes apart.
        let progress_interrupt = interrupt.clone();
        let progress_output = output.clone();
        engine.on_progress(move |_| {
            let end = progress_interrupt.is_triggered() || progress_output.is_over_limit();
            end.then_some(Dynamic::UNIT)
        });
        register_sleep(&mut engine, interrupt);
        json::register(&mut engine);
        read_single_quoted_text_as_strings(&mut engine);
        Self {
            engine,
            output,
            interrupt: interrupt.clone(),
            limits: *limits,
            depth,
        }
    }

    /// The engine, to register more functions before [`run`](Self::run).
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// Runs `payload` and returns its output: the printed lines joined with `\n`, then the
    /// final value when it is not `()`.
    ///
    /// `env_vars` are visible as the constant map `ENV` and through `env(name)`, which gives
    /// `()` for a missing name (replacing any `env(string)` registered before). Blocking:
    /// call from a blocking thread.
    ///
    /// # Errors
    ///
    /// [`ScriptError::Failed`] when the script does not parse, fails, throws or goes over a
    /// limit (the message names the limit); [`ScriptError::Interrupted`] when the interrupt
    /// is triggered before it ends.
    pub fn run(
        mut self,
        payload: &str,
        env_vars: &BTreeMap<String, String>,
    ) -> Result<String, ScriptError> {
        let env: Map = env_vars
            .iter()
            .map(|(name, value)| (name.into(), value.clone().into()))
            .collect();
        let mut scope = Scope::new();
        scope.push_constant("ENV", env.clone());
        self.engine.register_fn("env", move |name: &str| {
            env.get(name).cloned().unwrap_or(Dynamic::UNIT)
        });

        let ast = self
            .engine
            .compile_with_scope(&scope, payload)
            .map_err(|error| self.failure(&error.into()))?;
        if depth::uses_this(&ast) {
            depth::watch_this(&mut self.engine, self.depth.clone());
        }
        let value = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut scope, &ast)
            .map_err(|error| self.failure(&error))?;
        // The last statement may have printed past the cap with no operation after it.
        if self.output.is_over_limit() {
            return Err(self.output_over_limit());
        }
        let mut lines = self.output.take();
        if !value.is_unit() {
            lines.push(value.to_string());
        }
        Ok(lines.join("\n"))
    }

    fn failure(&self, error: &EvalAltResult) -> ScriptError {
        let inner = error.unwrap_inner();
        if let EvalAltResult::ErrorTerminated(..) = inner {
            // Only the interrupt and the output cap terminate; the interrupt takes
            // precedence, as the job was told to stop.
            if self.interrupt.is_triggered() || !self.output.is_over_limit() {
                return ScriptError::Interrupted;
            }
            return self.output_over_limit();
        }
        match self.limits.explain(inner) {
            Some(message) => ScriptError::Failed(message),
            None => ScriptError::Failed(error.to_string()),
        }
    }

    fn output_over_limit(&self) -> ScriptError {
        ScriptError::Failed(format!(
            "script printed more than the limit of {} bytes",
            self.output.max_bytes()
        ))
    }
}

/// Makes `'Hello World'` a string, as in most scripting languages, where Rhai would refuse
/// it: a single-quoted literal is a character in Rhai, so text of exactly one character
/// stays one (and `''` stays an error).
///
/// Rhai's tokenizer has already read such a literal whole, escapes and all, before it
/// refuses it as a malformed character, so the string is exactly what the same text
/// between double quotes would give; quotes inside strings and comments never reach here.
fn read_single_quoted_text_as_strings(engine: &mut Engine) {
    // The tokenizer decides whether `+` or `-` is unary from the token before it, which it
    // saw as an error, not a value: after a string made here, they are binary.
    let after_string = AtomicBool::new(false);
    // Rhai flags `on_parse_token` as `deprecated` only to say the API is volatile; it is
    // not deprecated, and a change would show up as a compile error here.
    #[allow(deprecated)]
    engine.on_parse_token(move |token, _, _| {
        let follows_string = after_string.swap(false, Ordering::Relaxed);
        match token {
            Token::LexError(error) => match *error {
                LexError::MalformedChar(text) if !text.is_empty() => {
                    after_string.store(true, Ordering::Relaxed);
                    Token::StringConstant(Box::new(text.into()))
                }
                error => Token::LexError(Box::new(error)),
            },
            Token::UnaryPlus if follows_string => Token::Plus,
            Token::UnaryMinus if follows_string => Token::Minus,
            token => token,
        }
    });
}

/// Runs `payload` with the default [`Limits`] and nothing registered beyond the sandbox:
/// [`Script::new`] then [`Script::run`], for a job without an id.
///
/// # Errors
///
/// As [`Script::run`].
pub fn run(
    payload: &str,
    env_vars: &BTreeMap<String, String>,
    interrupt: &Interrupt,
) -> Result<String, ScriptError> {
    Script::new("-", &Limits::default(), interrupt).run(payload, env_vars)
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::thread;
    use std::time::{Duration, Instant};

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

    #[test]
    fn an_interrupt_inside_a_function_is_still_an_interrupt() {
        let payload = "fn spin() { loop {} } spin()";
        assert_eq!(run_interrupted(payload), Err(ScriptError::Interrupted));
    }

    #[test]
    fn printed_lines_past_the_output_limit_fail_the_script() {
        let limits = Limits {
            max_output_bytes: 10,
            ..Limits::default()
        };
        let script = Script::new("j1", &limits, &Interrupt::new());
        let result = script.run(r#"print("12345"); print("67890")"#, &BTreeMap::new());
        assert_eq!(
            result,
            Err(ScriptError::Failed(
                "script printed more than the limit of 10 bytes".to_owned()
            ))
        );
    }

    #[test]
    fn an_endless_printer_is_stopped_at_the_output_limit() {
        let limits = Limits {
            max_output_bytes: 1000,
            ..Limits::default()
        };
        let script = Script::new("j1", &limits, &Interrupt::new());
        let result = script.run(r#"loop { try { print("x") } catch {} }"#, &BTreeMap::new());
        assert_eq!(
            result,
            Err(ScriptError::Failed(
                "script printed more than the limit of 1000 bytes".to_owned()
            ))
        );
    }

    #[test]
    fn single_quoted_text_is_a_string() {
        assert_eq!(
            run_script("print('Hello World')"),
            Ok("Hello World".to_string())
        );
        assert_eq!(
            run_script("let s = 'ab'; type_of(s) + ' ' + s.len()"),
            Ok("string 2".to_string())
        );
        assert_eq!(
            run_script("let x = 'ab' + 'cd' + 1 - 'x'; x + ('ab' +'c')"),
            Ok("abcd1abc".to_string())
        );
    }

    #[test]
    fn a_single_quoted_character_is_still_a_character() {
        assert_eq!(
            run_script("let c = 'a'; type_of(c) + type_of('\\n') + type_of('é')"),
            Ok("charcharchar".to_string())
        );
        assert_eq!(
            run_script("let n = 1; 'ab' + -n + 'c' + 'd' - 'd'"),
            Ok("ab-1c".to_string())
        );
        let message = failure_message(run_script("''"));
        assert!(message.contains("Invalid character"), "{message}");
    }

    #[test]
    fn single_quoted_strings_take_the_same_escapes_as_double_quoted_ones() {
        assert_eq!(
            run_script(r#"'tab\there' == "tab\there""#),
            Ok("true".to_string())
        );
        assert_eq!(
            run_script(r#"'it\'s' + '\x41\u00e9' + 'say "hi"'"#),
            Ok("it'sAésay \"hi\"".to_string())
        );
    }

    #[test]
    fn quotes_inside_strings_and_comments_are_left_alone() {
        let payload = r#"
            // it's a comment with 'quotes'
            /* and 'another' one */
            let a = "don't 'touch' me";
            let b = `it's ${"raw"}`;
            a + "|" + b
        "#;
        assert_eq!(
            run_script(payload),
            Ok("don't 'touch' me|it's raw".to_string())
        );
    }

    #[test]
    fn an_unterminated_single_quoted_string_is_still_a_syntax_error() {
        let message = failure_message(run_script("print('Hello)"));
        assert!(message.contains("Syntax error"), "{message}");
    }

    #[test]
    fn json_helpers_are_available() {
        assert_eq!(
            run_script(r#"let m = from_json(`{"a":[1,2]}`); m.a[1] + to_json(m).len()"#),
            Ok("13".to_string())
        );
    }
}
