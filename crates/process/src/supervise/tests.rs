//! The loop against a fake backend whose processes live on timers, in paused time, so
//! that every delay is exact.

use std::sync::Mutex;

use super::*;
use crate::ProcessManager;
use crate::logs::Logs;

const MS: Duration = Duration::from_millis(1);

/// What the fake processes do, and what happened to them.
#[derive(Debug, Default)]
struct Script {
    /// How long each launch runs before crashing; the last one repeats.
    lifetimes: VecDeque<Duration>,
    ignores_sigterm: bool,
    cannot_start: bool,
    launches: Vec<Instant>,
    kills: u32,
}

#[derive(Clone)]
struct Fake(Arc<Mutex<Script>>);

struct FakeProcess {
    exits_at: Instant,
    script: Fake,
}

impl Fake {
    fn new(script: Script) -> Self {
        Self(Arc::new(Mutex::new(script)))
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.0.lock().unwrap()
    }

    fn launches(&self) -> Vec<Instant> {
        self.script().launches.clone()
    }
}

impl Launcher for Fake {
    type Process = FakeProcess;

    async fn launch(&mut self) -> Result<FakeProcess, Error> {
        let mut script = self.script();
        if script.cannot_start {
            return Err(Error::Spawn {
                id: "fake".into(),
                program: "/nope".into(),
                source: std::io::ErrorKind::NotFound.into(),
            });
        }
        let lifetime = match script.lifetimes.len() {
            0 => Duration::from_secs(3600),
            1 => script.lifetimes[0],
            _ => script.lifetimes.pop_front().unwrap(),
        };
        script.launches.push(Instant::now());
        Ok(FakeProcess {
            exits_at: Instant::now() + lifetime,
            script: self.clone(),
        })
    }
}

impl Process for FakeProcess {
    fn pid(&self) -> u32 {
        4242
    }

    async fn exited(&mut self) -> Exit {
        tokio::time::sleep_until(self.exits_at).await;
        Exit::Code(1)
    }

    async fn stop(&mut self, grace: Duration) -> Exit {
        if !grace.is_zero() && !self.script.script().ignores_sigterm {
            return Exit::Signal(15);
        }
        tokio::time::sleep(grace).await;
        self.script.script().kills += 1;
        Exit::Signal(9)
    }
}

fn policy() -> Policy {
    Policy {
        initial_backoff: 500 * MS,
        max_backoff: 4000 * MS,
        jitter: 0.0,
        fast_crash: 5000 * MS,
        max_fast_crashes: 100,
        stop_grace: 10_000 * MS,
        ..Policy::default()
    }
}

fn manager(fake: &Fake, policy: Policy) -> (ProcessManager, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let logs = Logs::open("fake", &dir.path().join("fake.log"), &policy).unwrap();
    let manager = ProcessManager::spawn("fake".into(), fake.clone(), policy, logs);
    (manager, dir)
}

async fn wait_for(manager: &ProcessManager, check: impl FnMut(&ProcessStatus) -> bool) {
    let mut status = manager.subscribe_status();
    tokio::time::timeout(hero_test_support::TIMEOUT, status.wait_for(check))
        .await
        .expect("the status changes in time")
        .expect("the manager is alive");
}

/// The time from each crash to the next launch.
fn restart_delays(launches: &[Instant], lifetimes: &[Duration]) -> Vec<Duration> {
    let crashes = launches.iter().zip(lifetimes).map(|(at, life)| *at + *life);
    crashes
        .zip(&launches[1..])
        .map(|(crash, next)| *next - crash)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn crashes_are_restarted_after_doubling_delays_up_to_the_cap() {
    let fake = Fake::new(Script {
        lifetimes: [100 * MS].into(),
        ..Script::default()
    });
    let (manager, _dir) = manager(&fake, policy());
    manager.start().await.unwrap();
    wait_for(&manager, |status| status.restarts == 6).await;
    let delays = restart_delays(&fake.launches(), &[100 * MS; 6]);
    assert_eq!(
        delays,
        [500, 1000, 2000, 4000, 4000, 4000].map(|ms| ms * MS)
    );
    assert_eq!(manager.status().state, ProcessState::Running);
}

#[tokio::test(start_paused = true)]
async fn a_long_run_starts_the_backoff_over() {
    let lifetimes = [100 * MS, 100 * MS, 6000 * MS, 100 * MS, 100 * MS];
    let fake = Fake::new(Script {
        lifetimes: lifetimes.into(),
        ..Script::default()
    });
    let (manager, _dir) = manager(&fake, policy());
    manager.start().await.unwrap();
    wait_for(&manager, |status| status.restarts == 4).await;
    let delays = restart_delays(&fake.launches(), &lifetimes);
    assert_eq!(delays, [500, 1000, 500, 500].map(|ms| ms * MS));
}

#[tokio::test(start_paused = true)]
async fn repeated_fast_crashes_end_in_failed() {
    let fake = Fake::new(Script {
        lifetimes: [100 * MS].into(),
        ..Script::default()
    });
    let policy = Policy {
        max_fast_crashes: 3,
        ..policy()
    };
    let (manager, _dir) = manager(&fake, policy);
    manager.start().await.unwrap();
    wait_for(&manager, |status| status.state == ProcessState::Failed).await;
    let status = manager.status();
    assert_eq!(status.restarts, 2);
    assert_eq!(status.last_exit.as_deref(), Some("exited with status 1"));
    assert_eq!(fake.launches().len(), 3);
    // An explicit start clears the count and runs it again.
    manager.start().await.unwrap();
    assert_eq!(fake.launches().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn without_autorestart_a_crash_is_final() {
    let fake = Fake::new(Script {
        lifetimes: [100 * MS].into(),
        ..Script::default()
    });
    let policy = Policy {
        autorestart: false,
        ..policy()
    };
    let (manager, _dir) = manager(&fake, policy);
    manager.start().await.unwrap();
    wait_for(&manager, |status| status.state == ProcessState::Failed).await;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(fake.launches().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn stop_disables_restarts_until_the_next_start() {
    let fake = Fake::new(Script {
        lifetimes: [1000 * MS].into(),
        ..Script::default()
    });
    let (manager, _dir) = manager(&fake, policy());
    manager.start().await.unwrap();
    manager.stop(false).await.unwrap();
    assert_eq!(manager.status().state, ProcessState::Stopped);
    assert_eq!(
        manager.status().last_exit.as_deref(),
        Some("killed by signal 15 (SIGTERM)")
    );
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(fake.launches().len(), 1);
    assert_eq!(manager.status().restarts, 0);
    manager.start().await.unwrap();
    assert_eq!(fake.launches().len(), 2);
    manager.stop(true).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn stop_during_backoff_cancels_the_restart() {
    let fake = Fake::new(Script {
        lifetimes: [100 * MS].into(),
        ..Script::default()
    });
    let (manager, _dir) = manager(&fake, policy());
    manager.start().await.unwrap();
    wait_for(&manager, |status| status.state == ProcessState::Backoff).await;
    manager.stop(false).await.unwrap();
    assert_eq!(manager.status().state, ProcessState::Stopped);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(fake.launches().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn start_and_stop_are_idempotent() {
    let fake = Fake::new(Script::default());
    let (manager, _dir) = manager(&fake, policy());
    manager.stop(false).await.unwrap();
    assert_eq!(manager.status().state, ProcessState::Stopped);
    manager.start().await.unwrap();
    manager.start().await.unwrap();
    assert_eq!(fake.launches().len(), 1);
    assert_eq!(manager.status().pid, Some(4242));
    manager.stop(false).await.unwrap();
    manager.stop(true).await.unwrap();
    assert_eq!(manager.status().state, ProcessState::Stopped);
    assert_eq!(manager.status().pid, None);
}

#[tokio::test(start_paused = true)]
async fn a_forced_stop_cuts_the_grace_period_short() {
    let fake = Fake::new(Script {
        ignores_sigterm: true,
        ..Script::default()
    });
    let (manager, _dir) = manager(&fake, policy());
    manager.start().await.unwrap();
    let begin = Instant::now();
    let graceful = tokio::spawn({
        let manager = manager.clone();
        async move { manager.stop(false).await }
    });
    wait_for(&manager, |status| status.state == ProcessState::Stopping).await;
    manager.stop(true).await.unwrap();
    graceful.await.unwrap().unwrap();
    assert_eq!(begin.elapsed(), Duration::ZERO);
    assert_eq!(fake.script().kills, 1);
    assert_eq!(manager.status().state, ProcessState::Stopped);
}

#[tokio::test(start_paused = true)]
async fn a_start_during_a_stop_runs_after_it() {
    let fake = Fake::new(Script {
        ignores_sigterm: true,
        ..Script::default()
    });
    let (manager, _dir) = manager(&fake, policy());
    manager.start().await.unwrap();
    let stopping = tokio::spawn({
        let manager = manager.clone();
        async move { manager.stop(false).await }
    });
    wait_for(&manager, |status| status.state == ProcessState::Stopping).await;
    manager.start().await.unwrap();
    stopping.await.unwrap().unwrap();
    assert_eq!(manager.status().state, ProcessState::Running);
    assert_eq!(fake.launches().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_failed_start_is_an_error_and_leaves_it_failed() {
    let fake = Fake::new(Script {
        cannot_start: true,
        ..Script::default()
    });
    let (manager, _dir) = manager(&fake, policy());
    let error = manager.start().await.unwrap_err();
    assert!(matches!(error, Error::Spawn { .. }), "{error}");
    let status = manager.status();
    assert_eq!(status.state, ProcessState::Failed);
    assert!(status.last_exit.unwrap().contains("/nope"));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_last_handle_kills_the_process() {
    let fake = Fake::new(Script {
        ignores_sigterm: true,
        ..Script::default()
    });
    let (manager, _dir) = manager(&fake, policy());
    manager.start().await.unwrap();
    let status = manager.subscribe_status();
    drop(manager);
    // The task ends, and with it the status sender, once the process is killed.
    let mut status = status;
    tokio::time::timeout(hero_test_support::TIMEOUT, async {
        while status.changed().await.is_ok() {}
    })
    .await
    .unwrap();
    assert_eq!(fake.script().kills, 1);
}
