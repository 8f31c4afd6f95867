//! Capped exponential backoff with jitter, for every retry against the store.

use std::time::Duration;

use rand::Rng;

/// Successive delays from `base` doubling up to `cap`, each with random jitter so that many
/// runners retrying at once spread out.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    /// The upper bound of the next delay before jitter.
    next: Duration,
}

impl Backoff {
    /// The store retry policy: 50 ms doubling up to 5 s.
    pub(crate) fn store() -> Self {
        Self::new(Duration::from_millis(50), Duration::from_secs(5))
    }

    pub(crate) fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            next: base,
        }
    }

    /// The delay before the next attempt: between half and all of the current bound.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let bound = self.next;
        self.next = (bound * 2).min(self.cap);
        let half = bound / 2;
        half + rand::rng().random_range(Duration::ZERO..=half)
    }

    /// Starts over from `base`, after a success.
    pub(crate) fn reset(&mut self) {
        self.next = self.base;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_jitter() {
        let mut backoff = Backoff::store();
        let bounds = [50, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000];
        for bound in bounds.map(Duration::from_millis) {
            let delay = backoff.next_delay();
            assert!(
                delay >= bound / 2 && delay <= bound,
                "{delay:?} vs {bound:?}"
            );
        }
    }

    #[test]
    fn reset_starts_over() {
        let mut backoff = Backoff::store();
        for _ in 0..5 {
            backoff.next_delay();
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(50));
    }
}
