//! `hero watch`: jobs as they change (`jobs.subscribe`) and the runners' queue lengths.
//!
//! On a terminal it is a live view redrawn in place with plain ANSI escapes, so it works over
//! ssh; otherwise (or with `--json`) it prints one line per event, for `grep` and scripts.

use std::collections::{BTreeMap, VecDeque};
use std::io::IsTerminal as _;
use std::time::Duration;

use futures::StreamExt as _;
use hero_supervisor_openrpc_client::{ClientError, EventFilter, JobEvents, RunnerInfo};

use crate::context::Context;
use crate::exit;
use crate::output;

/// Time between two redraws of the live view while events arrive: bounds the output over a
/// slow link however many events there are.
const FRAME: Duration = Duration::from_millis(250);

/// Arguments of `hero watch`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only the jobs of this runner.
    #[arg(long, short)]
    runner: Option<String>,
    /// How many of the latest events the live view shows.
    #[arg(long, default_value_t = 20)]
    events: usize,
    /// Seconds between two reads of the queue lengths in the live view.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=3600))]
    interval: u64,
}

/// Follows the jobs until interrupted; exit status 3 when the supervisor ends the
/// subscription or the connection is lost.
pub(crate) async fn run(ctx: &Context, args: Args) -> anyhow::Result<u8> {
    let secret = ctx.secret()?;
    let filter = args.runner.clone().map(|runner| EventFilter {
        runner: Some(runner),
        ..EventFilter::default()
    });
    let events = ctx.client.jobs_subscribe(secret, filter).await?;
    if std::io::stdout().is_terminal() && !ctx.json {
        live(ctx, secret, events, &args).await
    } else {
        lines(ctx, events).await
    }
}

/// One line per event, or one JSON object per line with `--json`.
async fn lines(ctx: &Context, mut events: JobEvents) -> anyhow::Result<u8> {
    // Events start with changes after the subscription: saying when it is in place lets a
    // script start its jobs without missing one.
    eprintln!("watching jobs at {}", ctx.client.url());
    while let Some(event) = events.next().await {
        let event = event?;
        if ctx.json {
            output::json(&event)?;
        } else {
            output::line(&output::event_line(&event))?;
        }
    }
    Ok(exit::SUCCESS)
}

/// What the live view shows.
struct View {
    recent: VecDeque<String>,
    /// Events by status since the view started.
    counts: BTreeMap<String, u64>,
    /// The runners as last read, or why they could not be.
    runners: Result<Vec<RunnerInfo>, String>,
    dirty: bool,
}

async fn live(
    ctx: &Context,
    secret: &str,
    mut events: JobEvents,
    args: &Args,
) -> anyhow::Result<u8> {
    let mut view = View {
        recent: VecDeque::new(),
        counts: BTreeMap::new(),
        runners: Ok(Vec::new()),
        dirty: false,
    };
    let mut refresh = tokio::time::interval(Duration::from_secs(args.interval));
    let mut frame = tokio::time::interval(FRAME);
    let mut read_runners = true;
    loop {
        tokio::select! {
            event = events.next() => match event {
                Some(event) => {
                    let event = event?;
                    *view.counts.entry(event.status.to_string()).or_default() += 1;
                    if view.recent.len() == args.events.max(1) {
                        view.recent.pop_front();
                    }
                    view.recent.push_back(output::event_line(&event));
                    view.dirty = true;
                }
                None => return Ok(exit::SUCCESS),
            },
            _ = refresh.tick(), if read_runners => {
                view.runners = match ctx.client.list_runners(secret).await {
                    Ok(runners) => Ok(runners),
                    Err(ClientError::Unauthorized { .. }) => {
                        read_runners = false;
                        Err("queue lengths need an admin secret".to_owned())
                    }
                    Err(e) => Err(e.to_string()),
                };
                view.dirty = true;
            }
            _ = frame.tick() => {
                if view.dirty {
                    output::raw(&draw(ctx, &view))?;
                    view.dirty = false;
                }
            }
        }
    }
}

/// The whole screen, drawn from its top-left corner over the previous one.
fn draw(ctx: &Context, view: &View) -> String {
    let mut screen = String::from("\x1b[H\x1b[2J");
    let now = chrono::Utc::now().format("%H:%M:%S");
    screen.push_str(&format!(
        "hero watch  {}  {now} UTC  (Ctrl-C quits)\n\n",
        ctx.client.url()
    ));
    match &view.runners {
        Ok(runners) => {
            let mut table = output::table(&["RUNNER", "STATUS", "QUEUED", "RESTARTS"]);
            for runner in runners {
                table.add_row([
                    runner.name.clone(),
                    runner.status.as_str().to_owned(),
                    runner.queue_length.to_string(),
                    runner.restarts.to_string(),
                ]);
            }
            screen.push_str(&format!("{}\n", output::table_text(&table)));
        }
        Err(why) => {
            screen.push_str(&format!("runners: {why}\n"));
        }
    }
    let counts: Vec<String> = view
        .counts
        .iter()
        .map(|(status, n)| format!("{status} {n}"))
        .collect();
    screen.push_str(&format!(
        "\nevents since start: {}\n",
        if counts.is_empty() {
            "none".to_owned()
        } else {
            counts.join(", ")
        }
    ));
    for line in &view.recent {
        screen.push_str(&format!("{line}\n"));
    }
    screen
}
