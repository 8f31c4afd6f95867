//! Every method of the client against a running supervisor, each answer checked.
//!
//! Environment: `SUPERVISOR_URL` (default `http://localhost:3030`), `SUPERVISOR_SECRET`
//! (a user secret, default `user-secret`), `RUNNER` (default `osis_runner_1`) and `EXECUTOR`
//! (default `osis`). Prints each step; exits non-zero on the first unexpected answer.
//!
//! `cargo run -p hero-supervisor-openrpc-client --example all_methods`

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures::StreamExt;
use hero_supervisor_openrpc_client::{
    ClientError, EventFilter, EventStatus, Job, JobBuilder, JobResult, JobStatus, JobStatusInfo,
    Schedule, SupervisorClient, codes,
};

/// How long a job of this example may take to reach a final state.
const JOB_DEADLINE: Duration = Duration::from_secs(60);

struct Setup {
    client: SupervisorClient,
    secret: String,
    runner: String,
    executor: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => {
            println!("all methods answered as expected");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let url = env_or("SUPERVISOR_URL", "http://localhost:3030");
    let setup = Setup {
        client: SupervisorClient::new(&url).with_context(|| format!("supervisor url {url}"))?,
        secret: env_or("SUPERVISOR_SECRET", "user-secret"),
        runner: env_or("RUNNER", "osis_runner_1"),
        executor: env_or("EXECUTOR", "osis"),
    };
    println!("supervisor at {url}, runner {}", setup.runner);
    discover(&setup).await?;
    run_and_wait(&setup).await?;
    follow_events(&setup).await?;
    let job_id = create_start_poll(&setup).await?;
    create_many(&setup).await?;
    list(&setup, &job_id).await?;
    stop_queued(&setup).await?;
    delete_then_not_found(&setup, &job_id).await?;
    schedules(&setup).await?;
    wrong_secret(&setup).await
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn job(setup: &Setup, payload: &str) -> Result<Job, ClientError> {
    let job = JobBuilder::new()
        .caller_id("all_methods_example")
        .context_id("all_methods_example")
        .payload(payload)
        .executor(&setup.executor)
        .runner(&setup.runner)
        .timeout(JOB_DEADLINE.as_secs())
        .build()?;
    Ok(job)
}

async fn discover(setup: &Setup) -> anyhow::Result<()> {
    println!("rpc_discover");
    let doc = setup.client.rpc_discover().await.context("rpc.discover")?;
    let methods = doc["methods"]
        .as_array()
        .context("the document lists no methods")?;
    ensure!(
        methods.iter().any(|m| m["name"] == "job.run"),
        "the OpenRPC document does not list job.run"
    );
    println!("  {} methods, OpenRPC {}", methods.len(), doc["openrpc"]);
    Ok(())
}

async fn run_and_wait(setup: &Setup) -> anyhow::Result<()> {
    println!("job_run: 40 + 2");
    match setup
        .client
        .job_run(&setup.secret, job(setup, "40 + 2")?)
        .await?
    {
        JobResult::Success { success } if success == "42" => println!("  success: {success}"),
        other => bail!("job.run of `40 + 2` answered {other:?}, expected success 42"),
    }
    Ok(())
}

async fn follow_events(setup: &Setup) -> anyhow::Result<()> {
    let client = &setup.client;
    println!("jobs_subscribe (WebSocket) + job_run: 6 * 7");
    let filter = EventFilter {
        runner: Some(setup.runner.clone()),
        ..EventFilter::default()
    };
    let mut events = client.jobs_subscribe(&setup.secret, Some(filter)).await?;
    let job = job(setup, "6 * 7")?;
    let id = client.jobs_create(&setup.secret, job).await?;
    client.job_start(&setup.secret, &id).await?;
    let deadline = Instant::now() + JOB_DEADLINE;
    let mut seen = Vec::new();
    while seen.last() != Some(&EventStatus::Completed) {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, events.next())
            .await
            .context("no event before the deadline")?
            .context("the subscription ended")??;
        if event.job_id == id {
            seen.push(event.status);
            if event.status.is_final() {
                ensure!(
                    event.result == Some(JobResult::success("42")),
                    "the final event carried {:?}",
                    event.result
                );
                ensure!(
                    event.status == EventStatus::Completed,
                    "the job {}",
                    event.status
                );
            }
        }
    }
    events.unsubscribe().await?;
    println!("  events: {seen:?}");
    Ok(())
}

async fn create_many(setup: &Setup) -> anyhow::Result<()> {
    let client = &setup.client;
    println!("jobs_create_many: 1 + 1, 2 + 2, 3 + 3");
    let jobs = (1..=3)
        .map(|n| job(setup, &format!("{n} + {n}")))
        .collect::<Result<Vec<_>, _>>()?;
    let ids = client.jobs_create_many(&setup.secret, jobs, true).await?;
    ensure!(
        ids.len() == 3,
        "jobs.create_many answered {} ids",
        ids.len()
    );
    for (n, id) in (1..=3).zip(&ids) {
        wait_final(client, id).await?;
        let result = client.job_result(id).await?;
        let expected = JobResult::success((2 * n).to_string());
        ensure!(result == expected, "job {id} answered {result:?}");
    }
    println!("  {} jobs, each with its result", ids.len());
    Ok(())
}

async fn create_start_poll(setup: &Setup) -> anyhow::Result<String> {
    let client = &setup.client;
    println!("jobs_create + job_start: print(\"Hello\")");
    let job_id = client
        .jobs_create(&setup.secret, job(setup, "print(\"Hello\")")?)
        .await?;
    let created = client.job_status(&job_id).await?;
    ensure!(
        created.status == "created",
        "a new job is {}",
        created.status
    );
    client.job_start(&setup.secret, &job_id).await?;
    let status = wait_final(client, &job_id).await?;
    println!("  job {job_id} is {}", status.status);
    ensure!(
        status.status == JobStatus::Completed,
        "job ended {}",
        status.status
    );
    let result = client.job_result(&job_id).await?;
    ensure!(
        result == JobResult::success("Hello"),
        "job.result answered {result:?}"
    );
    let again = client
        .job_result_with_secret(&job_id, &setup.secret)
        .await?;
    ensure!(
        again == result,
        "job.result with a secret answered {again:?}"
    );
    let status = client
        .job_status_with_secret(&job_id, &setup.secret)
        .await?;
    ensure!(
        status.status.is_final(),
        "job.status with a secret: {}",
        status.status
    );
    println!("  result: {result:?}");
    Ok(job_id)
}

async fn list(setup: &Setup, job_id: &str) -> anyhow::Result<()> {
    println!("jobs_list");
    let jobs = setup.client.jobs_list(&setup.secret).await?;
    ensure!(
        jobs.iter().any(|record| record.job.id == job_id),
        "jobs.list lacks job {job_id}"
    );
    println!("  {} jobs, including {job_id}", jobs.len());
    Ok(())
}

/// Starts a long job and stops it while it is queued or already running.
async fn stop_queued(setup: &Setup) -> anyhow::Result<()> {
    let client = &setup.client;
    println!("job_stop of a started job: sleep(30)");
    let job_id = client
        .jobs_create(&setup.secret, job(setup, "sleep(30); 1")?)
        .await?;
    client.job_start(&setup.secret, &job_id).await?;
    let before = client.job_status(&job_id).await?.status;
    client.job_stop(&setup.secret, &job_id).await?;
    let status = wait_final(client, &job_id).await?;
    println!("  was {before}, now {}", status.status);
    ensure!(
        status.status == JobStatus::Stopped,
        "stopped job is {}",
        status.status
    );
    println!("job_retry of the stopped job, then job_stop again");
    client.job_retry(&setup.secret, &job_id).await?;
    let again = client.job_status(&job_id).await?.status;
    ensure!(
        !again.is_final(),
        "a retried job is queued again, not {again}"
    );
    client.job_stop(&setup.secret, &job_id).await?;
    client.job_delete(&setup.secret, &job_id).await?;
    Ok(())
}

async fn delete_then_not_found(setup: &Setup, job_id: &str) -> anyhow::Result<()> {
    println!("job_delete, then job_status of the deleted job");
    setup.client.job_delete(&setup.secret, job_id).await?;
    match setup.client.job_status(job_id).await {
        Err(ClientError::NotFound { message }) => println!("  not found, as expected: {message}"),
        Err(other) => bail!("expected not found, got {other} (code {:?})", other.code()),
        Ok(status) => bail!("a deleted job still has a status: {}", status.status),
    }
    Ok(())
}

/// A schedule ticking every second: created, seen ticking in the listing, deleted.
async fn schedules(setup: &Setup) -> anyhow::Result<()> {
    let client = &setup.client;
    let name = format!("all-methods-{}", std::process::id());
    println!("schedules_create {name}: every second");
    let created = client
        .schedules_create(
            &setup.secret,
            Schedule::new(&name, "* * * * * *", job(setup, "1")?),
        )
        .await?;
    ensure!(created.next_tick.is_some(), "no next tick: {created:?}");
    println!("schedules_list until it has ticked");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listed = client.schedules_list(&setup.secret).await?;
        let ours = listed.iter().find(|s| s.name == name);
        ensure!(ours.is_some(), "schedules.list lacks {name}");
        if let Some(tick) = ours.and_then(|s| s.last_tick) {
            println!("  ticked at {tick}");
            break;
        }
        ensure!(Instant::now() < deadline, "{name} never ticked");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("schedules_delete {name}");
    client.schedules_delete(&setup.secret, &name).await?;
    let listed = client.schedules_list(&setup.secret).await?;
    ensure!(
        listed.iter().all(|s| s.name != name),
        "a deleted schedule is listed"
    );
    Ok(())
}

async fn wrong_secret(setup: &Setup) -> anyhow::Result<()> {
    println!("jobs_list with a wrong secret");
    match setup.client.jobs_list("not-a-secret").await {
        Err(err) if err.code() == Some(codes::UNAUTHORIZED) => {
            println!("  unauthorized, as expected: {err}");
            Ok(())
        }
        Err(other) => bail!("expected unauthorized, got {other}"),
        Ok(_) => bail!("jobs.list accepted a wrong secret"),
    }
}

/// Polls `job_id` until it is final, failing after [`JOB_DEADLINE`].
async fn wait_final(client: &SupervisorClient, job_id: &str) -> anyhow::Result<JobStatusInfo> {
    let deadline = Instant::now() + JOB_DEADLINE;
    loop {
        let status = client.job_status(job_id).await?;
        if status.status.is_final() {
            return Ok(status);
        }
        if Instant::now() > deadline {
            bail!(
                "job {job_id} still {} after {JOB_DEADLINE:?}",
                status.status
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
