//! [`ScriptPool`]: long-lived script threads, each with the stack the limits need, that run
//! one job's script at a time, and the bridge from a job's cancellation to its script.
//!
//! A thread of its own per job (clone, a 16 MiB stack mapped and unmapped, thread exit) cost
//! more than building the engine and running a short script on it; a thread that has run a
//! script now waits for the next one instead. Each script still builds its engine and gets
//! its own [`Interrupt`], so nothing of one job reaches the next; a thread whose script
//! panicked ends, and a fresh one takes its place when needed.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread;

use hero_runner::JobContext;
use tokio::sync::oneshot;

use crate::Interrupt;
use crate::engine::ScriptError;

/// Runs scripts on a set of long-lived threads; clones share the threads.
///
/// The pool starts a thread when a script arrives and none is idle, and keeps it afterwards,
/// so it holds as many threads as scripts ever ran at once: the runner's concurrency, plus
/// any script still ending after its job was given up on. The threads end with the pool.
#[derive(Clone)]
pub struct ScriptPool(Arc<Shared>);

struct Shared {
    stack_bytes: usize,
    /// Threads waiting for a script, the most recently used last, so a steady trickle of
    /// jobs keeps reusing the same warm thread. A std mutex: held only to push or pop.
    idle: Mutex<Vec<Worker>>,
}

/// The way to hand a script to one idle thread.
type Worker = mpsc::Sender<Assignment>;

/// One job's script, ready to run on any thread.
type Script = Box<dyn FnOnce() -> Result<String, ScriptError> + Send>;

/// Where a script's result goes.
type Done = oneshot::Sender<Result<String, ScriptError>>;

/// A script for a thread, and where its result goes.
struct Assignment {
    script: Script,
    done: Done,
    /// The thread's own sender, travelling with the work so that the thread holds it only
    /// while busy: it puts it back among the idle ones when done, and a pool that is gone
    /// finds no sender left, which ends the thread's wait.
    worker: Worker,
}

impl std::fmt::Debug for ScriptPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptPool")
            .field("stack_bytes", &self.0.stack_bytes)
            .field("idle", &self.0.idle().len())
            .finish()
    }
}

impl ScriptPool {
    /// A pool whose threads have `stack_bytes` of stack (see
    /// [`Limits::stack_bytes`](crate::Limits::stack_bytes)); it starts no thread yet.
    pub fn new(stack_bytes: usize) -> Self {
        Self(Arc::new(Shared {
            stack_bytes,
            idle: Mutex::default(),
        }))
    }

    /// Runs `script` on one of the pool's threads and returns its result as the runner SDK
    /// expects it.
    ///
    /// When `ctx` is cancelled, or this future is dropped, the [`Interrupt`] handed to
    /// `script` is triggered; the result is then `Err("script interrupted")` unless the
    /// script finished first. A failure's message is the [`ScriptError`]'s; a script that
    /// panics gives `Err("the script thread panicked")` and its thread ends.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future interrupts the script, which ends at its next operation; its
    /// thread then waits for the next script.
    pub async fn run<F>(&self, ctx: &JobContext, script: F) -> Result<String, String>
    where
        F: FnOnce(&Interrupt) -> Result<String, ScriptError> + Send + 'static,
    {
        let interrupt = Interrupt::new();
        // If this future is dropped before the script ends, the script must not run on.
        let _interrupt_on_drop = InterruptOnDrop(interrupt.clone());
        let (done_tx, mut done) = oneshot::channel();
        let script_interrupt = interrupt.clone();
        self.assign(Box::new(move || script(&script_interrupt)), done_tx)?;
        let finished = tokio::select! {
            finished = &mut done => finished,
            () = ctx.cancelled() => {
                interrupt.trigger();
                done.await
            }
        };
        match finished {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err("the script thread panicked".to_owned()),
        }
    }

    /// Hands `script` to an idle thread, or to a new one when none is idle.
    fn assign(&self, mut script: Script, mut done: Done) -> Result<(), String> {
        // An idle thread ends only once the pool is gone, so a send cannot fail while this
        // pool is held; were one to fail, the script goes to the next thread or a new one.
        loop {
            let Some(worker) = self.0.idle().pop() else {
                return self.start_thread(script, done);
            };
            let assignment = Assignment {
                script,
                done,
                worker: worker.clone(),
            };
            match worker.send(assignment) {
                Ok(()) => return Ok(()),
                Err(mpsc::SendError(returned)) => (script, done) = (returned.script, returned.done),
            }
        }
    }

    fn start_thread(&self, script: Script, done: Done) -> Result<(), String> {
        let (worker, assignments) = mpsc::channel();
        let pool = Arc::downgrade(&self.0);
        thread::Builder::new()
            .name("script".to_owned())
            .stack_size(self.0.stack_bytes)
            .spawn(move || work(&pool, &assignments))
            .map_err(|error| format!("cannot start the script thread: {error}"))?;
        let assignment = Assignment {
            script,
            done,
            worker: worker.clone(),
        };
        // The thread holds the receiver until it has had this first assignment.
        worker
            .send(assignment)
            .map_err(|_| "the script thread ended before its first script".to_owned())
    }
}

impl Shared {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Worker>> {
        // Pushes and pops cannot leave the list half-updated, so poison is harmless.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A pool thread's life: one script after another until the pool is gone or a script
/// panics.
fn work(pool: &Weak<Shared>, assignments: &mpsc::Receiver<Assignment>) {
    while let Ok(Assignment {
        script,
        done,
        worker,
    }) = assignments.recv()
    {
        // The script and everything it built are dropped with the unwind; only the thread
        // itself, and what a panic may have left half-done in it, remain: end it.
        let Ok(result) = panic::catch_unwind(AssertUnwindSafe(script)) else {
            return;
        };
        // Idle again before the result is out: the runner may hand over its next job as
        // soon as it has the result, and should find this thread waiting rather than
        // start another.
        match pool.upgrade() {
            Some(pool) => pool.idle().push(worker),
            None => drop(worker),
        }
        // The receiver is gone only when the job no longer waits for this result.
        let _ = done.send(result);
    }
}

/// Triggers the interrupt when dropped; harmless once the script has ended.
struct InterruptOnDrop(Interrupt);

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        self.0.trigger();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::thread::ThreadId;

    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::Limits;

    fn pool() -> ScriptPool {
        ScriptPool::new(Limits::default().stack_bytes())
    }

    async fn run<F>(pool: &ScriptPool, script: F) -> Result<String, String>
    where
        F: FnOnce(&Interrupt) -> Result<String, ScriptError> + Send + 'static,
    {
        let ctx = JobContext::new("j1", CancellationToken::new());
        tokio::time::timeout(hero_test_support::TIMEOUT, pool.run(&ctx, script))
            .await
            .expect("the script ends")
    }

    async fn thread_of(pool: &ScriptPool) -> ThreadId {
        let (id_tx, id_rx) = std::sync::mpsc::channel();
        let result = run(pool, move |_| {
            id_tx
                .send(thread::current().id())
                .map_err(|_| ScriptError::Interrupted)?;
            Ok(String::new())
        })
        .await;
        assert_eq!(result, Ok(String::new()));
        id_rx.recv().expect("the script sent its thread")
    }

    #[tokio::test]
    async fn scripts_one_after_another_reuse_one_thread() {
        let pool = pool();
        let first = thread_of(&pool).await;
        for _ in 0..20 {
            assert_eq!(thread_of(&pool).await, first);
        }
        assert_ne!(first, thread::current().id());
    }

    #[tokio::test]
    async fn scripts_at_the_same_time_each_get_a_thread() {
        let pool = pool();
        // Each script waits for the other: they end only if both run at once.
        let barrier = Arc::new(Barrier::new(2));
        let script = |barrier: Arc<Barrier>| {
            move |_: &Interrupt| {
                barrier.wait();
                Ok("met".to_owned())
            }
        };
        let (a, b) = tokio::join!(
            run(&pool, script(barrier.clone())),
            run(&pool, script(barrier))
        );
        assert_eq!((a, b), (Ok("met".to_owned()), Ok("met".to_owned())));
        assert_eq!(pool.0.idle().len(), 2, "both threads wait for more");
    }

    #[tokio::test]
    async fn a_panicking_script_fails_its_job_and_a_fresh_thread_runs_the_next() {
        let pool = pool();
        let before = thread_of(&pool).await;
        let panicked = run(&pool, |_| panic!("a bug in a native function")).await;
        assert_eq!(panicked, Err("the script thread panicked".to_owned()));
        assert_eq!(
            run(&pool, |_| Ok("next".to_owned())).await,
            Ok("next".to_owned())
        );
        assert_ne!(
            thread_of(&pool).await,
            before,
            "the panicked thread is gone"
        );
    }

    #[tokio::test]
    async fn cancelling_interrupts_the_script_and_its_thread_serves_the_next() {
        let pool = pool();
        let before = thread_of(&pool).await;
        let token = CancellationToken::new();
        let ctx = JobContext::new("j1", token.clone());
        let spin = pool.run(&ctx, |interrupt| {
            while !interrupt.is_triggered() {
                std::hint::spin_loop();
            }
            Err(ScriptError::Interrupted)
        });
        token.cancel();
        let result = tokio::time::timeout(hero_test_support::TIMEOUT, spin)
            .await
            .expect("the script ends once interrupted");
        assert_eq!(result, Err("script interrupted".to_owned()));
        assert_eq!(thread_of(&pool).await, before);
    }
}
