//! `hero info`: the supervisor's version, backend, uptime and counts (admin secret).

use hero_supervisor_openrpc_client::Counts;

use crate::context::Context;
use crate::exit;
use crate::output;

/// Prints the supervisor's description, as `key  value` lines or JSON.
pub(crate) async fn run(ctx: &Context) -> anyhow::Result<u8> {
    let info = ctx.client.supervisor_info(ctx.secret()?).await?;
    if ctx.json {
        output::json(&info)?;
        return Ok(exit::SUCCESS);
    }
    output::fields(&[
        ("version", info.version.clone()),
        (
            "backend",
            format!(
                "{} ({})",
                info.backend.kind,
                output::wire(&info.backend.status)
            ),
        ),
        ("namespace", info.namespace.clone()),
        ("uptime", uptime(info.uptime_secs)),
        ("runners", counts(&info.runners)),
        ("jobs", counts(&info.jobs)),
    ])?;
    Ok(exit::SUCCESS)
}

/// `12 (running 10, stopped 2)`.
fn counts(counts: &Counts) -> String {
    let parts: Vec<String> = counts
        .by_status
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(status, n)| format!("{status} {n}"))
        .collect();
    if parts.is_empty() {
        counts.total.to_string()
    } else {
        format!("{} ({})", counts.total, parts.join(", "))
    }
}

/// `3d 4h 5m 6s`, leading zero units left out.
fn uptime(secs: u64) -> String {
    let units = [
        (secs / 86_400, "d"),
        ((secs / 3_600) % 24, "h"),
        ((secs / 60) % 60, "m"),
    ];
    let mut text: String = units
        .iter()
        .skip_while(|(n, _)| *n == 0)
        .map(|(n, unit)| format!("{n}{unit} "))
        .collect();
    text.push_str(&format!("{}s", secs % 60));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_leaves_out_leading_zero_units() {
        assert_eq!(uptime(5), "5s");
        assert_eq!(uptime(3_605), "1h 0m 5s");
        assert_eq!(uptime(90_061), "1d 1h 1m 1s");
    }
}
