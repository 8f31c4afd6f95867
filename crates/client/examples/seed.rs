//! The seed document's Rust example, as written: run a job, then create, start, poll, read,
//! stop, delete and list.
//!
//! Needs a supervisor with user secret `user-secret` and runner `osis_runner_1`:
//! `SUPERVISOR_URL=http://localhost:3030 cargo run -p hero-supervisor-openrpc-client --example seed`

use std::time::Duration;

use hero_supervisor_openrpc_client::JobResult;

#[tokio::main]
// The seed reads the second `result` without using it; the body below is kept as written.
#[allow(unused_variables)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("SUPERVISOR_URL").unwrap_or_else(|_| "http://localhost:3030".into());

    // From here on, the seed's example; only the URL literal is replaced by `url`.
    use hero_supervisor_openrpc_client::{JobBuilder, SupervisorClient};
    // Create client
    let client = SupervisorClient::new(&url)?;
    // Create a job
    let job = JobBuilder::new()
        .caller_id("my_client")
        .context_id("my_context")
        .payload("print('Hello World')")
        .executor("osis")
        .runner("osis_runner_1")
        .timeout(60)
        .build()?;
    // Option 1: Fire-and-forget execution
    let result = client.job_run("user-secret", job.clone()).await?;
    match result {
        JobResult::Success { success } => println!("Output: {}", success),
        JobResult::Error { error } => println!("Error: {}", error),
    }
    // Option 2: Asynchronous execution
    let job_id = client.jobs_create("user-secret", job).await?;
    client.job_start("user-secret", &job_id).await?;
    // Poll for completion
    loop {
        let status = client.job_status(&job_id).await?;
        if status.status == "completed" || status.status == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let result = client.job_result(&job_id).await?;
    // Option 3: Job management
    // Stop a running job
    client.job_stop("user-secret", &job_id).await?;
    // Delete a job
    client.job_delete("user-secret", &job_id).await?;
    // List all jobs (returns full Job objects)
    let jobs = client.jobs_list("user-secret").await?;
    for job in jobs {
        println!("Job {}: {} ({})", job.id, job.executor, job.payload);
    }
    Ok(())
}
