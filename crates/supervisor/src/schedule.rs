//! A schedule's cron expression, read with `croner`: when its ticks fall, and which tick is
//! due.

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds, Year};

/// Longest cron expression accepted, in bytes: far above any real one, so a hostile one is
/// refused before it is parsed.
const MAX_CRON_BYTES: usize = 256;

/// A parsed cron expression of 5 fields (`minute hour day-of-month month day-of-week`) or 6
/// (`second` first), in UTC.
#[derive(Debug, Clone)]
pub(crate) struct Cron(croner::Cron);

impl Cron {
    /// Parses `text`.
    ///
    /// # Errors
    ///
    /// What is wrong with it, in words for the caller: not 5 or 6 fields, a field out of
    /// range, or an expression that never ticks (`0 0 30 2 *`).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_CRON_BYTES {
            return Err(format!("longer than {MAX_CRON_BYTES} bytes"));
        }
        let fields = text.split_whitespace().count();
        if fields != 5 && fields != 6 {
            return Err(format!(
                "has {fields} fields; expected 5 (minute hour day-of-month month day-of-week) \
                 or 6 (second first)"
            ));
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(text).map_err(|e| e.to_string())?;
        let cron = Self(cron);
        if cron.next_after(Utc::now()).is_none() {
            return Err("never ticks".into());
        }
        Ok(cron)
    }

    /// The first tick strictly after `at`; `None` when there is none.
    pub(crate) fn next_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.0.find_next_occurrence(&at, false).ok()
    }

    /// The latest tick at or before `now` that comes after `last`: the one tick to create when
    /// several were missed; `None` when no tick fell since `last`.
    pub(crate) fn latest_due(
        &self,
        last: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let latest = self.0.find_previous_occurrence(&now, true).ok()?;
        (latest > last).then_some(latest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("an RFC 3339 time")
    }

    #[test]
    fn five_and_six_fields_are_accepted_and_others_named() {
        assert!(Cron::parse("*/5 * * * *").is_ok());
        assert!(Cron::parse("* * * * * *").is_ok());
        assert!(Cron::parse("0 30 9 * * MON-FRI").is_ok());
        let four = Cron::parse("* * * *").unwrap_err();
        assert!(four.contains("4 fields"), "{four}");
        let seven = Cron::parse("0 0 0 1 1 * 2030").unwrap_err();
        assert!(seven.contains("7 fields"), "{seven}");
        assert!(Cron::parse("61 * * * *").is_err());
        assert!(Cron::parse("@hourly").is_err());
        assert_eq!(Cron::parse("0 0 30 2 *").unwrap_err(), "never ticks");
    }

    #[test]
    fn only_the_latest_missed_tick_is_due() {
        let cron = Cron::parse("*/10 * * * *").expect("cron");
        let last = at("2026-01-01T00:00:00Z");
        assert_eq!(cron.latest_due(last, at("2026-01-01T00:09:59Z")), None);
        assert_eq!(
            cron.latest_due(last, at("2026-01-01T00:10:00Z")),
            Some(at("2026-01-01T00:10:00Z"))
        );
        assert_eq!(
            cron.latest_due(last, at("2026-01-01T00:35:12.5Z")),
            Some(at("2026-01-01T00:30:00Z"))
        );
    }

    #[test]
    fn a_day_matching_either_restricted_day_field_ticks_as_in_cron() {
        let cron = Cron::parse("0 0 13 * FRI").expect("cron");
        // 2026-01-01 is a Thursday.
        let fridays_and_13th: Vec<_> =
            std::iter::successors(cron.next_after(at("2026-01-01T00:00:00Z")), |last| {
                cron.next_after(*last)
            })
            .take(3)
            .collect();
        assert_eq!(
            fridays_and_13th,
            [
                at("2026-01-02T00:00:00Z"),
                at("2026-01-09T00:00:00Z"),
                at("2026-01-13T00:00:00Z")
            ]
        );
    }

    #[test]
    fn a_tick_in_seconds_falls_on_the_whole_second() {
        let cron = Cron::parse("* * * * * *").expect("cron");
        let now = at("2026-01-01T00:00:01.250Z");
        assert_eq!(
            cron.latest_due(at("2026-01-01T00:00:00.500Z"), now),
            Some(at("2026-01-01T00:00:01Z"))
        );
        assert_eq!(cron.next_after(now), Some(at("2026-01-01T00:00:02Z")));
    }
}
