//! `run(cmd, args)` and `run_with(cmd, args, options)`: a command without a shell, its
//! stdout, stderr and exit code captured.
//!
//! The command starts in a process group of its own. It is killed, with everything left
//! in its group, when its `timeout` passes or the job is interrupted; once it exits, what
//! it left running in its group is killed too.

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

/// One command to run.
#[derive(Debug, Default)]
struct Spec {
    program: String,
    args: Vec<String>,
    cwd: Option<PathBuf>,
    timeout: Option<Duration>,
    env: BTreeMap<String, String>,
}

/// What a script's command needs from its job.
#[derive(Clone)]
struct Runner {
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
    let runner = Runner {
        env: env.clone(),
        interrupt: interrupt.clone(),
        max_output,
    };
    let run = runner.clone();
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
            runner.run(&spec).map_err(fail)
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
            "cwd" => spec.cwd = Some(PathBuf::from(value.to_string())),
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

impl Runner {
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

    /// Waits for the child to exit, then kills what it left in its group and reaps it.
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
        let pid = Pid::from_raw(
            i32::try_from(child.id())
                .map_err(|_| lost(std::io::Error::other("pid out of range")))?,
        );
        loop {
            // WNOWAIT leaves the exited child unreaped, so its pid, the group id, cannot be
            // reused before the group is killed below.
            let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
            let state = waitid(Id::Pid(pid), flags).map_err(|errno| lost(errno.into()))?;
            if !matches!(state, WaitStatus::StillAlive) {
                break;
            }
            if let Err(error) = self.check(spec, deadline) {
                kill_group(pid);
                // Killed just now: the wait is short, and reaps the child.
                child.wait().map_err(lost)?;
                return Err(error);
            }
            thread::sleep(POLL);
        }
        kill_group(pid);
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

/// Sends SIGKILL to the process group `pid` leads.
fn kill_group(pid: Pid) {
    // ESRCH: the group is already empty, which is the goal.
    let _ = killpg(pid, Signal::SIGKILL);
}

/// The exit code, or 128 + the signal number for a command a signal ended (as shells do).
fn exit_code(status: ExitStatus) -> INT {
    match (status.code(), status.signal()) {
        (Some(code), _) => INT::from(code),
        (None, Some(signal)) => 128 + INT::from(signal),
        (None, None) => -1,
    }
}
