//! `run(cmd, args)` and `run_with(cmd, args, options)`: a command without a shell, its
//! stdout, stderr and exit code captured.
//!
//! The command starts in a process group of its own. When its `timeout` passes or the job
//! is interrupted, the group gets SIGTERM, then SIGKILL half a second later; once the
//! command exits, what it left running in its group is killed.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use hero_osis_runner::Interrupt;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;
use rhai::{Array, Dynamic, Engine, FLOAT, INT, Map};

use crate::Error;
use crate::env::JobEnv;

/// How often a running command is checked for exit, timeout and interrupt.
const POLL: Duration = Duration::from_millis(10);

/// How long a command has between SIGTERM and SIGKILL when stopped; short, so that a
/// stopped job ends within the SDK's one-second grace.
const STOP_GRACE: Duration = Duration::from_millis(500);

/// One command to run.
#[derive(Debug, Default)]
struct Spec {
    program: String,
    args: Vec<String>,
    cwd: Option<PathBuf>,
    timeout: Option<Duration>,
    env: BTreeMap<String, String>,
}

/// What the commands of one job's script share: its environment, its interrupt and the
/// output cap.
#[derive(Clone)]
struct JobCommands {
    env: JobEnv,
    interrupt: Interrupt,
    max_output: usize,
}

/// Registers `run` and `run_with`. Commands see `env`; each stream keeps at most
/// `max_output` bytes.
pub(crate) fn register(
    engine: &mut Engine,
    env: &JobEnv,
    interrupt: &Interrupt,
    max_output: usize,
) {
    let commands = JobCommands {
        env: env.clone(),
        interrupt: interrupt.clone(),
        max_output,
    };
    let run = commands.clone();
    engine.register_fn("run", move |program: &str, args: Array| {
        let spec = Spec {
            program: program.to_owned(),
            args: strings(args),
            ..Spec::default()
        };
        run.run(&spec).map_err(|error| error.in_function("run"))
    });
    engine.register_fn(
        "run_with",
        move |program: &str, args: Array, options: Map| {
            let fail = |error: Error| error.in_function("run_with");
            let spec = spec_with(program, args, options).map_err(fail)?;
            commands.run(&spec).map_err(fail)
        },
    );
}

fn strings(items: Array) -> Vec<String> {
    items.into_iter().map(|item| item.to_string()).collect()
}

/// The spec of `run_with`: `options` may hold `cwd`, `timeout` (seconds) and `env` (a map).
fn spec_with(program: &str, args: Array, options: Map) -> Result<Spec, Error> {
    let mut spec = Spec {
        program: program.to_owned(),
        args: strings(args),
        ..Spec::default()
    };
    for (name, value) in options {
        let bad = |reason: &str| Error::BadOption {
            name: name.to_string(),
            reason: reason.to_owned(),
        };
        match name.as_str() {
            "cwd" => {
                let cwd = value.into_string().map_err(|_| bad("must be a string"))?;
                spec.cwd = Some(PathBuf::from(cwd));
            }
            "timeout" => {
                let seconds = if value.is_int() {
                    value.as_int().map(|n| n as FLOAT).ok()
                } else {
                    value.as_float().ok()
                };
                let duration = seconds.and_then(|s| Duration::try_from_secs_f64(s).ok());
                spec.timeout = Some(duration.ok_or_else(|| bad("must be a number of seconds"))?);
            }
            "env" => {
                let vars = value
                    .try_cast::<Map>()
                    .ok_or_else(|| bad("must be a map"))?;
                spec.env = vars
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), value.to_string()))
                    .collect();
            }
            _ => return Err(bad("unknown; expected `cwd`, `timeout` or `env`")),
        }
    }
    Ok(spec)
}

impl JobCommands {
    /// Runs `spec` and returns `#{stdout, stderr, exit_code}`.
    fn run(&self, spec: &Spec) -> Result<Map, Error> {
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .envs(self.env.overrides())
            .envs(&spec.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some(cwd) = &spec.cwd {
            command.current_dir(cwd);
        }
        let mut child = command.spawn().map_err(|source| Error::Spawn {
            command: spec.program.clone(),
            source,
        })?;
        let stdout = capture(child.stdout.take(), self.max_output);
        let stderr = capture(child.stderr.take(), self.max_output);
        let deadline = spec.timeout.map(|timeout| Instant::now() + timeout);
        let status = self.wait(&mut child, spec, deadline)?;
        let stdout = self.collect(&stdout, spec, deadline, "stdout")?;
        let stderr = self.collect(&stderr, spec, deadline, "stderr")?;
        let mut result = Map::new();
        result.insert("stdout".into(), stdout.into());
        result.insert("stderr".into(), stderr.into());
        result.insert("exit_code".into(), Dynamic::from_int(exit_code(status)));
        Ok(result)
    }

    /// Waits for the child to exit, then kills what it left in its group and reaps it; on
    /// interrupt or timeout, stops it first.
    fn wait(
        &self,
        child: &mut Child,
        spec: &Spec,
        deadline: Option<Instant>,
    ) -> Result<ExitStatus, Error> {
        let lost = |source| Error::Wait {
            command: spec.program.clone(),
            source,
        };
        let pid = Pid::from_raw(i32::try_from(child.id()).expect("Linux pids are below 2^22"));
        while !has_exited(pid).map_err(lost)? {
            if let Err(error) = self.check(spec, deadline) {
                stop(child, pid).map_err(lost)?;
                return Err(error);
            }
            thread::sleep(POLL);
        }
        // The command is done; what it left behind gets no grace.
        signal_group(pid, Signal::SIGKILL);
        child.wait().map_err(lost)
    }

    /// Waits for one stream's reader, which ends once every writer has closed the pipe.
    fn collect(
        &self,
        reader: &mpsc::Receiver<std::io::Result<Captured>>,
        spec: &Spec,
        deadline: Option<Instant>,
        stream: &'static str,
    ) -> Result<String, Error> {
        loop {
            match reader.recv_timeout(POLL) {
                Ok(Ok(captured)) if captured.overflowed => {
                    return Err(Error::OutputTooLarge {
                        command: spec.program.clone(),
                        stream,
                        max: self.max_output,
                    });
                }
                Ok(Ok(captured)) => {
                    return Ok(String::from_utf8_lossy(&captured.bytes).into_owned());
                }
                Ok(Err(source)) => {
                    return Err(Error::Wait {
                        command: spec.program.clone(),
                        source,
                    });
                }
                Err(mpsc::RecvTimeoutError::Timeout) => self.check(spec, deadline)?,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(String::new()),
            }
        }
    }

    /// Fails once the job is interrupted or the command's deadline has passed.
    fn check(&self, spec: &Spec, deadline: Option<Instant>) -> Result<(), Error> {
        if self.interrupt.is_triggered() {
            return Err(Error::Interrupted);
        }
        if let Some(timeout) = spec.timeout
            && deadline.is_some_and(|deadline| Instant::now() >= deadline)
        {
            return Err(Error::TimedOut {
                command: spec.program.clone(),
                seconds: timeout.as_secs_f64(),
            });
        }
        Ok(())
    }
}

/// A stream's bytes, up to the cap; `overflowed` when there were more.
struct Captured {
    bytes: Vec<u8>,
    overflowed: bool,
}

/// Reads `pipe` to its end on a thread, keeping at most `max` bytes and draining the rest,
/// so the command never blocks on a full pipe.
fn capture(
    pipe: Option<impl Read + Send + 'static>,
    max: usize,
) -> mpsc::Receiver<std::io::Result<Captured>> {
    let (done_tx, done) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        thread::spawn(move || {
            let mut captured = Captured {
                bytes: Vec::new(),
                overflowed: false,
            };
            let mut buffer = [0_u8; 8192];
            let result = loop {
                match pipe.read(&mut buffer) {
                    Ok(0) => break Ok(captured),
                    Ok(n) if captured.bytes.len() + n <= max => {
                        captured.bytes.extend_from_slice(&buffer[..n])
                    }
                    Ok(_) => captured.overflowed = true,
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(error) => break Err(error),
                }
            };
            // The receiver is gone only when the script has already ended.
            let _ = done_tx.send(result);
        });
    }
    done
}

/// Whether the child `pid` has exited. It stays unreaped (`WNOWAIT`), so its pid, which
/// is also its group's id, cannot be reused while the group is signalled.
fn has_exited(pid: Pid) -> std::io::Result<bool> {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    let state = waitid(Id::Pid(pid), flags)?;
    Ok(!matches!(state, WaitStatus::StillAlive))
}

/// Stops the command: SIGTERM to its group, up to [`STOP_GRACE`] for it to exit, then
/// SIGKILL to whatever is left in the group; reaps the command.
fn stop(child: &mut Child, pid: Pid) -> std::io::Result<()> {
    signal_group(pid, Signal::SIGTERM);
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline && !has_exited(pid)? {
        thread::sleep(POLL);
    }
    signal_group(pid, Signal::SIGKILL);
    child.wait().map(drop)
}

/// Sends `signal` to the process group `pid` leads.
fn signal_group(pid: Pid, signal: Signal) {
    // ESRCH: the group is already empty, which is the goal.
    let _ = killpg(pid, signal);
}

/// The exit code, or 128 + the signal number for a command a signal ended (as shells do).
fn exit_code(status: ExitStatus) -> INT {
    match (status.code(), status.signal()) {
        (Some(code), _) => INT::from(code),
        (None, Some(signal)) => 128 + INT::from(signal),
        (None, None) => -1,
    }
}
