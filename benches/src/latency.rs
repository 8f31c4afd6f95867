//! Latency histograms in microseconds, and the quantiles the report prints.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Longest latency a histogram holds exactly: one minute; longer ones are clamped to it.
const MAX_MICROS: u64 = 60_000_000;

/// The median and tail of a set of latencies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quantiles {
    pub(crate) p50: Duration,
    pub(crate) p90: Duration,
    pub(crate) p99: Duration,
}

/// An empty histogram of 1 µs to one minute, three significant digits.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("the bounds are valid constants")
}

/// Records `latency`, clamped into the histogram's range.
pub(crate) fn record(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(MAX_MICROS);
    histogram.saturating_record(micros.clamp(1, MAX_MICROS));
}

/// The latency at quantile `q` (0.5 for the median).
pub(crate) fn quantile(histogram: &Histogram<u64>, q: f64) -> Duration {
    Duration::from_micros(histogram.value_at_quantile(q))
}

/// p50, p90 and p99 of `histogram`.
pub(crate) fn quantiles(histogram: &Histogram<u64>) -> Quantiles {
    Quantiles {
        p50: quantile(histogram, 0.5),
        p90: quantile(histogram, 0.9),
        p99: quantile(histogram, 0.99),
    }
}

/// `duration` in milliseconds, for printing.
pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
