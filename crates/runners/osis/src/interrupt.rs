//! [`Interrupt`]: the flag that ends a running script, and `sleep`, which watches it.
//!
//! The engine checks the flag before every operation; native functions that block, such as
//! `sleep` here or a command in the `sal` runner, call [`Interrupt::check`] while they wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine, EvalAltResult, FLOAT, INT, Position};

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

    /// Asks the script to stop; it ends with
    /// [`ScriptError::Interrupted`](crate::engine::ScriptError::Interrupted) at its next
    /// operation.
    pub fn trigger(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`trigger`](Self::trigger) has been called on this flag or a clone of it.
    pub fn is_triggered(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// For native functions that block: `Ok` while the flag is clear, then the error that
    /// ends the script as interrupted (scripts cannot catch it).
    ///
    /// # Errors
    ///
    /// Rhai's `ErrorTerminated` once the flag is triggered.
    pub fn check(&self) -> Result<(), Box<EvalAltResult>> {
        if self.is_triggered() {
            return Err(EvalAltResult::ErrorTerminated(Dynamic::UNIT, Position::NONE).into());
        }
        Ok(())
    }
}

/// Registers `sleep(seconds)` for integer and float seconds, ended early by `interrupt`.
pub(crate) fn register_sleep(engine: &mut Engine, interrupt: &Interrupt) {
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
        interrupt.check()?;
        let left = duration.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Ok(());
        }
        thread::sleep(left.min(SLEEP_SLICE));
    }
}
