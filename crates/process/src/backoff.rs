//! When to restart a crashed process, and when to give up: capped exponential backoff with
//! jitter, and supervisord's BACKOFF → FATAL after repeated fast crashes that the process
//! itself chose (an exit with a status).

use std::time::Duration;

use crate::Policy;

/// What to do after an unexpected exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Start the process again after this delay.
    Restart(Duration),
    /// Too many fast crashes in a row: leave it `failed`.
    Fail,
}

/// The restart state of one process: pure arithmetic, the caller supplies time and randomness.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    jitter: f64,
    fast_crash: Duration,
    max_fast_crashes: u32,
    /// Fast crashes in a row, of any kind: the exponent of the next delay.
    fast_crashes: u32,
    /// Those of them that were exits with a status, which alone lead to giving up.
    fast_exits: u32,
}

impl Backoff {
    pub(crate) fn new(policy: &Policy) -> Self {
        Self {
            initial: policy.initial_backoff,
            max: policy.max_backoff,
            jitter: policy.jitter.clamp(0.0, 1.0),
            fast_crash: policy.fast_crash,
            max_fast_crashes: policy.max_fast_crashes.max(1),
            fast_crashes: 0,
            fast_exits: 0,
        }
    }

    /// Decides after an exit of a process that ran for `ran_for`, `killed` when a signal
    /// ended it; `roll` (0–1) draws the jitter.
    ///
    /// A fast crash doubles the delay, up to the cap; a long run starts over from the initial
    /// delay. Only fast exits with a status count towards giving up: a process killed by a
    /// signal (out of memory, an abort, a segfault) may have been brought down by the work it
    /// was given, such as a runner's job, and must go on serving the rest.
    pub(crate) fn after_exit(&mut self, ran_for: Duration, killed: bool, roll: f64) -> Decision {
        if ran_for >= self.fast_crash {
            self.reset();
            return Decision::Restart(self.delay(0, roll));
        }
        self.fast_crashes = self.fast_crashes.saturating_add(1);
        if !killed {
            self.fast_exits += 1;
            if self.fast_exits >= self.max_fast_crashes {
                return Decision::Fail;
            }
        }
        Decision::Restart(self.delay(self.fast_crashes - 1, roll))
    }

    /// Forgets earlier crashes, after an explicit start.
    pub(crate) fn reset(&mut self) {
        self.fast_crashes = 0;
        self.fast_exits = 0;
    }

    fn delay(&self, attempt: u32, roll: f64) -> Duration {
        let bound = self
            .initial
            .saturating_mul(1 << attempt.min(31))
            .min(self.max);
        bound.mul_f64(1.0 - self.jitter * roll.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn backoff(max_fast_crashes: u32) -> Backoff {
        Backoff::new(&Policy {
            initial_backoff: 500 * MS,
            max_backoff: 4000 * MS,
            jitter: 0.2,
            fast_crash: 5000 * MS,
            max_fast_crashes,
            ..Policy::default()
        })
    }

    #[test]
    fn fast_crashes_double_the_delay_up_to_the_cap() {
        let mut backoff = backoff(100);
        let delays: Vec<Decision> = (0..6).map(|_| backoff.after_exit(MS, false, 0.0)).collect();
        let expected = [500, 1000, 2000, 4000, 4000, 4000].map(|ms| Decision::Restart(ms * MS));
        assert_eq!(delays, expected);
    }

    #[test]
    fn jitter_shortens_a_delay_by_at_most_its_fraction() {
        let mut backoff = backoff(100);
        assert_eq!(
            backoff.after_exit(MS, false, 1.0),
            Decision::Restart(400 * MS)
        );
        assert_eq!(
            backoff.after_exit(MS, false, 0.5),
            Decision::Restart(900 * MS)
        );
    }

    #[test]
    fn repeated_fast_crashes_fail() {
        let mut backoff = backoff(3);
        assert!(matches!(
            backoff.after_exit(MS, false, 0.0),
            Decision::Restart(_)
        ));
        assert!(matches!(
            backoff.after_exit(MS, false, 0.0),
            Decision::Restart(_)
        ));
        assert_eq!(backoff.after_exit(MS, false, 0.0), Decision::Fail);
    }

    #[test]
    fn a_long_run_starts_the_backoff_over() {
        let mut backoff = backoff(3);
        backoff.after_exit(MS, false, 0.0);
        backoff.after_exit(MS, false, 0.0);
        assert_eq!(
            backoff.after_exit(5000 * MS, false, 0.0),
            Decision::Restart(500 * MS)
        );
        assert_eq!(
            backoff.after_exit(MS, false, 0.0),
            Decision::Restart(500 * MS)
        );
        assert_eq!(
            backoff.after_exit(MS, false, 0.0),
            Decision::Restart(1000 * MS)
        );
    }

    #[test]
    fn reset_forgets_earlier_crashes() {
        let mut backoff = backoff(2);
        backoff.after_exit(MS, false, 0.0);
        backoff.reset();
        assert_eq!(
            backoff.after_exit(MS, false, 0.0),
            Decision::Restart(500 * MS)
        );
    }

    #[test]
    fn fast_deaths_by_signal_back_off_but_never_fail() {
        let mut backoff = backoff(2);
        for _ in 0..10 {
            assert!(matches!(
                backoff.after_exit(MS, true, 0.0),
                Decision::Restart(_)
            ));
        }
        assert_eq!(
            backoff.after_exit(MS, true, 0.0),
            Decision::Restart(4000 * MS),
            "the delay still grows to its cap"
        );
        assert!(matches!(
            backoff.after_exit(MS, false, 0.0),
            Decision::Restart(_)
        ));
        assert_eq!(backoff.after_exit(MS, false, 0.0), Decision::Fail);
    }

    #[test]
    fn many_crashes_do_not_overflow() {
        let mut backoff = backoff(u32::MAX);
        for _ in 0..100 {
            backoff.after_exit(MS, false, 0.0);
        }
        assert_eq!(
            backoff.after_exit(MS, false, 0.0),
            Decision::Restart(4000 * MS)
        );
    }
}
