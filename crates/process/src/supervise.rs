//! The task that owns one process: starts it on request, restarts it after a crash by the
//! [`Policy`], stops it on request, and publishes every change of its status.
//!
//! It is a loop over three phases, idle, running and backing off; each waits for its event
//! next to the commands from the handles.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::backend::{Launcher, Process};
use crate::backoff::{Backoff, Decision};
use crate::status::{Exit, ProcessState, ProcessStatus};
use crate::{Error, Policy};

/// A request from a handle.
#[derive(Debug)]
pub(crate) enum Command {
    Start(oneshot::Sender<Result<(), Error>>),
    Stop {
        force: bool,
        done: oneshot::Sender<()>,
    },
}

/// What the task is waiting for.
enum Phase<P> {
    /// A command.
    Idle,
    /// The process to exit.
    Running { process: P, since: Instant },
    /// The time to restart.
    Backoff { until: Instant },
}

/// The state of the task; see the module docs.
pub(crate) struct Supervise<L: Launcher> {
    id: String,
    launcher: L,
    policy: Policy,
    backoff: Backoff,
    status: Arc<watch::Sender<ProcessStatus>>,
    commands: mpsc::Receiver<Command>,
    /// Starts that arrived while a stop was in progress, handled once it is done.
    deferred: VecDeque<Command>,
}

impl<L: Launcher> Supervise<L> {
    pub(crate) fn new(
        id: String,
        launcher: L,
        policy: Policy,
        status: Arc<watch::Sender<ProcessStatus>>,
        commands: mpsc::Receiver<Command>,
    ) -> Self {
        Self {
            id,
            launcher,
            backoff: Backoff::new(&policy),
            policy,
            status,
            commands,
            deferred: VecDeque::new(),
        }
    }

    /// Runs until every handle is gone, then kills the process.
    pub(crate) async fn run(mut self) {
        let mut phase = Phase::Idle;
        loop {
            phase = match phase {
                Phase::Idle => match self.next_command().await {
                    Some(command) => self.on_command(command, None).await,
                    None => return,
                },
                Phase::Running { mut process, since } => tokio::select! {
                    exit = process.exited() => self.on_exit(exit.to_string(), exit, since.elapsed()),
                    command = self.next_command() => match command {
                        Some(command) => self.on_command(command, Some((process, since))).await,
                        None => {
                            process.stop(Duration::ZERO).await;
                            return;
                        }
                    },
                },
                Phase::Backoff { until } => tokio::select! {
                    () = tokio::time::sleep_until(until) => self.restart().await,
                    command = self.next_command() => match command {
                        Some(command) => self.on_command(command, None).await,
                        None => return,
                    },
                },
            };
        }
    }

    async fn next_command(&mut self) -> Option<Command> {
        match self.deferred.pop_front() {
            Some(command) => Some(command),
            None => self.commands.recv().await,
        }
    }

    /// Handles a command, `running` holding the process if there is one.
    async fn on_command(
        &mut self,
        command: Command,
        running: Option<(L::Process, Instant)>,
    ) -> Phase<L::Process> {
        match (command, running) {
            (Command::Start(reply), Some((process, since))) => {
                // The caller may have stopped waiting for the answer.
                let _ = reply.send(Ok(()));
                Phase::Running { process, since }
            }
            (Command::Start(reply), None) => {
                self.backoff.reset();
                let (phase, result) = match self.launch().await {
                    Ok(phase) => (phase, Ok(())),
                    Err(error) => {
                        self.publish(ProcessState::Failed, None, Some(describe(&error)));
                        (Phase::Idle, Err(error))
                    }
                };
                // The caller may have stopped waiting for the answer.
                let _ = reply.send(result);
                phase
            }
            (Command::Stop { force, done }, Some((mut process, _))) => {
                self.stop(&mut process, force, done).await;
                Phase::Idle
            }
            (Command::Stop { done, .. }, None) => {
                if self.status.borrow().state == ProcessState::Backoff {
                    self.publish(ProcessState::Stopped, None, None);
                }
                // The caller may have stopped waiting for the answer.
                let _ = done.send(());
                Phase::Idle
            }
        }
    }

    /// Stops the process, escalating to SIGKILL if a forced stop arrives during the grace.
    async fn stop(&mut self, process: &mut L::Process, force: bool, done: oneshot::Sender<()>) {
        self.publish(ProcessState::Stopping, Some(process.pid()), None);
        let mut waiters = vec![done];
        let mut exit = None;
        if !force {
            let graceful = process.stop(self.policy.stop_grace);
            tokio::pin!(graceful);
            exit = loop {
                tokio::select! {
                    exit = &mut graceful => break Some(exit),
                    Some(command) = self.commands.recv() => match command {
                        Command::Stop { force: true, done } => {
                            waiters.push(done);
                            break None;
                        }
                        Command::Stop { done, .. } => waiters.push(done),
                        start @ Command::Start(_) => self.deferred.push_back(start),
                    },
                }
            };
        }
        let exit = match exit {
            Some(exit) => exit,
            None => process.stop(Duration::ZERO).await,
        };
        self.publish(ProcessState::Stopped, None, Some(exit.to_string()));
        for done in waiters {
            // The caller may have stopped waiting for the answer.
            let _ = done.send(());
        }
    }

    /// Decides what follows an exit nobody asked for.
    fn on_exit(&mut self, description: String, exit: Exit, ran_for: Duration) -> Phase<L::Process> {
        tracing::warn!(id = %self.id, exit = %description, ?ran_for, "runner exited unexpectedly");
        if !self.policy.autorestart {
            let state = if exit.is_success() {
                ProcessState::Stopped
            } else {
                ProcessState::Failed
            };
            self.publish(state, None, Some(description));
            return Phase::Idle;
        }
        let killed = matches!(exit, Exit::Signal(_));
        match self.backoff.after_exit(ran_for, killed, rand::random()) {
            Decision::Restart(delay) => {
                tracing::info!(id = %self.id, ?delay, "restarting runner after backoff");
                self.publish(ProcessState::Backoff, None, Some(description));
                Phase::Backoff {
                    until: Instant::now() + delay,
                }
            }
            Decision::Fail => {
                tracing::error!(id = %self.id, "runner keeps crashing; giving up");
                self.publish(ProcessState::Failed, None, Some(description));
                Phase::Idle
            }
        }
    }

    /// Starts the process again after its backoff; a failed start counts as a fast crash.
    async fn restart(&mut self) -> Phase<L::Process> {
        self.status.send_modify(|status| status.restarts += 1);
        match self.launch().await {
            Ok(phase) => phase,
            Err(error) => self.on_exit(describe(&error), Exit::Unknown, Duration::ZERO),
        }
    }

    async fn launch(&mut self) -> Result<Phase<L::Process>, Error> {
        self.publish(ProcessState::Starting, None, None);
        let process = self.launcher.launch().await?;
        self.publish(ProcessState::Running, Some(process.pid()), None);
        Ok(Phase::Running {
            process,
            since: Instant::now(),
        })
    }

    /// Records a new state; `last_exit` replaces the old one when given.
    fn publish(&self, state: ProcessState, pid: Option<u32>, last_exit: Option<String>) {
        self.status.send_modify(|status| {
            status.state = state;
            status.pid = pid;
            status.since = Utc::now();
            if last_exit.is_some() {
                status.last_exit = last_exit;
            }
        });
    }
}

/// An error with its causes, for the status.
fn describe(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text += &format!(": {cause}");
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests;
