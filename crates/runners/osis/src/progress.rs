//! `progress(percent, message)` for scripts: reports how far the job is through the SDK's
//! [`JobContext::progress`], which only keeps the value, so a script can call it as often
//! as it likes.

use hero_runner::JobContext;
use rhai::{Dynamic, Engine, EvalAltResult};

/// Registers `progress(percent, message)` and `progress(percent)`, reporting to `ctx`.
///
/// `percent` is an integer or a float from 0 to 100 (a float counts by its whole part);
/// anything else is an error naming `progress`. `message` may be any value, shown as text.
pub fn register_progress(engine: &mut Engine, ctx: &JobContext) {
    let with_message = ctx.clone();
    engine.register_fn(
        "progress",
        move |percent: Dynamic, message: Dynamic| -> Result<(), Box<EvalAltResult>> {
            with_message.progress(percent_of(&percent)?, text_of(message));
            Ok(())
        },
    );
    let bare = ctx.clone();
    engine.register_fn(
        "progress",
        move |percent: Dynamic| -> Result<(), Box<EvalAltResult>> {
            bare.progress(percent_of(&percent)?, "");
            Ok(())
        },
    );
}

fn percent_of(value: &Dynamic) -> Result<u8, Box<EvalAltResult>> {
    let whole = if let Ok(int) = value.as_int() {
        Some(int)
    } else if let Ok(float) = value.as_float() {
        // NaN and the infinities fail the range check below.
        (float.is_finite()).then(|| float.trunc() as i64)
    } else {
        None
    };
    whole
        .and_then(|whole| u8::try_from(whole).ok())
        .filter(|percent| *percent <= 100)
        .ok_or_else(|| {
            format!(
                "progress: the percent must be a number from 0 to 100, not {} ({})",
                value,
                value.type_name()
            )
            .into()
        })
}

fn text_of(message: Dynamic) -> String {
    if message.is_string() {
        message.into_string().unwrap_or_default()
    } else {
        message.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use hero_job::Progress;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::engine::{Script, ScriptError};
    use crate::{Interrupt, Limits};

    fn run_with_progress(payload: &str) -> (Result<String, ScriptError>, Option<Progress>) {
        let ctx = JobContext::new("j1", CancellationToken::new());
        let mut script = Script::new("j1", &Limits::default(), &Interrupt::new());
        register_progress(script.engine_mut(), &ctx);
        let result = script.run(payload, &BTreeMap::new());
        (result, ctx.last_progress())
    }

    #[test]
    fn progress_reports_the_latest_percent_and_message() {
        let (result, progress) =
            run_with_progress(r#"progress(10, "start"); progress(50.9, "half"); "ok""#);
        assert_eq!(result, Ok("ok".to_owned()));
        assert_eq!(progress, Some(Progress::new(50, "half")));
        let (_, bare) = run_with_progress("progress(100)");
        assert_eq!(bare, Some(Progress::new(100, "")));
    }

    #[test]
    fn a_bad_percent_is_an_error_naming_progress() {
        for payload in [
            r#"progress(-1, "x")"#,
            r#"progress(101, "x")"#,
            r#"progress("half", "x")"#,
            r#"progress(0.0 / 0.0, "x")"#,
        ] {
            let (result, progress) = run_with_progress(payload);
            match result {
                Err(ScriptError::Failed(message)) => {
                    assert!(message.contains("progress:"), "{payload}: {message}");
                }
                other => panic!("{payload}: expected a failure, got {other:?}"),
            }
            assert_eq!(progress, None, "{payload}: nothing reported");
        }
    }
}
