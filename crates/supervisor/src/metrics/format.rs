//! The two text formats `GET /metrics` answers in: OpenMetrics, which Prometheus asks for in
//! its `Accept` header, and the classic Prometheus text format (0.0.4) for every other
//! scraper — `curl`, older agents, scripts that grep `# TYPE name_total counter`.

/// OpenMetrics text, as the encoder writes it.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The classic Prometheus text format.
const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Which text format a scrape is answered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    OpenMetrics,
    Prometheus,
}

impl Format {
    /// OpenMetrics when the `Accept` header names it, else the classic format.
    pub(crate) fn from_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Self::OpenMetrics,
            _ => Self::Prometheus,
        }
    }

    /// The `Content-Type` of an answer in this format.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Self::OpenMetrics => OPENMETRICS,
            Self::Prometheus => PROMETHEUS,
        }
    }

    /// `openmetrics` (the encoder's text) in this format.
    pub(crate) fn encode(self, openmetrics: String) -> String {
        match self {
            Self::OpenMetrics => openmetrics,
            Self::Prometheus => to_prometheus(&openmetrics),
        }
    }
}

/// Rewrites OpenMetrics text as classic Prometheus text. The samples are the same in both; the
/// differences are in the comments: a counter family is named with its `_total` suffix, and
/// the `# UNIT` and `# EOF` lines do not exist.
fn to_prometheus(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut text = String::with_capacity(openmetrics.len() + 16 * counters.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        match comment_family(line) {
            Some((prefix, family, rest)) if counters.contains(family) => {
                text.push_str(prefix);
                text.push_str(family);
                text.push_str("_total");
                text.push_str(rest);
            }
            _ => text.push_str(line),
        }
        text.push('\n');
    }
    text
}

/// Splits a `# HELP` or `# TYPE` line into its prefix, family name and the rest.
fn comment_family(line: &str) -> Option<(&str, &str, &str)> {
    let prefix_len = if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
        "# HELP ".len()
    } else {
        return None;
    };
    let (prefix, after) = line.split_at(prefix_len);
    let end = after.find(' ').unwrap_or(after.len());
    let (family, rest) = after.split_at(end);
    Some((prefix, family, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# HELP hero_jobs_submitted Jobs submitted.\n\
        # TYPE hero_jobs_submitted counter\n\
        hero_jobs_submitted_total{runner=\"a\"} 4\n\
        # HELP hero_backend_up 1 when the store answers.\n\
        # TYPE hero_backend_up gauge\n\
        hero_backend_up 1\n\
        # EOF\n";

    #[test]
    fn prometheus_asks_for_openmetrics_and_others_get_the_classic_format() {
        let prometheus =
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
        assert_eq!(Format::from_accept(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(Format::from_accept(Some("*/*")), Format::Prometheus);
        assert_eq!(Format::from_accept(None), Format::Prometheus);
    }

    #[test]
    fn the_classic_format_names_counters_with_their_total_suffix_and_has_no_eof() {
        let text = Format::Prometheus.encode(SAMPLE.to_owned());
        assert_eq!(
            text,
            "# HELP hero_jobs_submitted_total Jobs submitted.\n\
             # TYPE hero_jobs_submitted_total counter\n\
             hero_jobs_submitted_total{runner=\"a\"} 4\n\
             # HELP hero_backend_up 1 when the store answers.\n\
             # TYPE hero_backend_up gauge\n\
             hero_backend_up 1\n"
        );
    }

    #[test]
    fn openmetrics_is_passed_through() {
        assert_eq!(Format::OpenMetrics.encode(SAMPLE.to_owned()), SAMPLE);
    }
}
