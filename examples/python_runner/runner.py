#!/usr/bin/env python3
"""A Hero Supervisor runner in Python: the runner protocol spoken with redis-py.

It claims, heartbeats and reports with the repository's own Lua scripts
(crates/store-redis/lua), so every step is the same atomic operation the Rust SDK performs;
docs/runner-protocol.md describes them. Its executor is `python`: a job's payload is one
Python expression, evaluated with the job's env_vars as `env`, `sleep(seconds)` and
`progress(percent, message)` in scope.

The payload is run with `eval`: it is trusted code. This runner demonstrates the protocol;
it is no sandbox.

    python3 runner.py --name py_runner --redis-url redis://127.0.0.1:6379 --namespace hero
"""

from __future__ import annotations

import argparse
import builtins
import json
import logging
import os
import queue
import random
import signal
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import redis

LUA_DIR = Path(__file__).resolve().parent.parent.parent / "crates" / "store-redis" / "lua"

# The Rust SDK's defaults (crates/runner/src/config.rs), so both kinds of runner behave alike.
LEASE_MS = 15_000
HEARTBEAT_SECS = 0.5
CLAIM_WAIT_SECS = 1.0
# How long past its timeout a claimed job may run before the reaper fails it (TIMEOUT_GRACE in
# crates/store/src/store.rs); claim.lua records each job's deadline with it.
TIMEOUT_GRACE_MS = 5_000
SHUTDOWN_GRACE_SECS = 10.0
CONNECT_PATIENCE_SECS = 30.0
MAX_BATCH = 32
MAX_OUTPUT_BYTES = 1 << 20
# Longest progress message kept, as in the Rust SDK (MAX_PROGRESS_MESSAGE_BYTES).
MAX_PROGRESS_MESSAGE_BYTES = 1024
DEFAULT_TIMEOUT_SECS = 60
SHUTDOWN_MESSAGE = "runner shut down before the job finished"
# The executor this runner is: a job naming another is refused unexecuted.
EXECUTOR = "python"
# Secret levels, least trusted first. A job's `level` is the level of the secret that
# submitted it (set by the supervisor; absent on older jobs, which count as "user"); a runner
# whose access is "admin" refuses a job of a lower level unexecuted.
LEVELS = ("user", "admin")

# What a payload may call besides `env`, `sleep` and `progress`. Restricting builtins keeps honest
# payloads from importing modules by accident; it does not stop a hostile one.
SAFE_BUILTINS = {
    name: getattr(builtins, name)
    for name in (
        "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float",
        "format", "int", "isinstance", "len", "list", "map", "max", "min", "pow", "range",
        "repr", "reversed", "round", "set", "sorted", "str", "sum", "tuple", "zip",
    )
}

log = logging.getLogger("python_runner")


class Keys:
    """The key names of one namespace, as crates/store-redis/src/keys.rs writes them."""

    def __init__(self, namespace: str) -> None:
        self.prefix = f"{namespace}:v1:"
        self.job_prefix = f"{self.prefix}job:"
        self.workers = f"{self.prefix}workers"
        self.attempts = f"{self.prefix}attempts"
        self.seen = f"{self.prefix}seen"
        self.events = f"{self.prefix}events"

    def job(self, job_id: str) -> str:
        return f"{self.job_prefix}{job_id}"

    @property
    def queue_prefix(self) -> str:
        return f"{self.prefix}queue:"

    def queue(self, runner: str) -> str:
        return f"{self.queue_prefix}{runner}"

    def inflight(self, worker: str) -> str:
        return f"{self.prefix}inflight:{worker}"


class Backoff:
    """Capped exponential backoff with jitter: 50 ms doubling up to 5 s."""

    def __init__(self) -> None:
        self.next_secs = 0.05

    def delay(self) -> float:
        delay = self.next_secs * random.uniform(0.5, 1.0)
        self.next_secs = min(self.next_secs * 2, 5.0)
        return delay


class JobCancelled(Exception):
    """Raised by `sleep` inside a payload once its job was stopped or timed out."""


class RunningJob:
    """One claimed job, and how its evaluation and its interruptions reach the job thread."""

    def __init__(self, attempt: int, job: dict[str, Any]) -> None:
        self.id: str = job["id"]
        # This claim's token: every report and heartbeat of this run carries it, so a run of a
        # deleted or requeued job never speaks for a later run of the same id.
        self.attempt: int = int(attempt)
        self.executor: str = job["executor"]
        level = job.get("level") or "user"
        self.level: str = level if level in LEVELS else "user"
        self.payload: str = job["payload"]
        self.timeout: int = job.get("timeout") or DEFAULT_TIMEOUT_SECS
        self.env: dict[str, str] = job.get("env_vars") or {}
        # The first event decides the outcome: ("done", status, result), ("stopped",) or
        # ("shutdown",). A queue, because Python cannot wait on several Events at once.
        self.events: queue.Queue[tuple] = queue.Queue()
        # Set on any interruption, so `sleep` in the payload returns at once.
        self.cancelled = threading.Event()

    def interrupt(self, reason: str) -> None:
        self.cancelled.set()
        self.events.put((reason,))


def evaluate(
    payload: str,
    env: dict[str, str],
    cancelled: threading.Event,
    report_progress: Callable[[int, str], None],
) -> tuple[str, dict]:
    """Evaluates one payload: ("completed", {"success": …}) or ("failed", {"error": …})."""

    def sleep(seconds: float) -> None:
        if cancelled.wait(seconds):
            raise JobCancelled("job cancelled")

    def progress(percent: float, message: object = "") -> None:
        number = isinstance(percent, (int, float)) and not isinstance(percent, bool)
        if not number or not 0 <= percent <= 100:
            raise ValueError(
                f"progress: the percent must be a number from 0 to 100, not {percent!r}"
            )
        report_progress(int(percent), str(message))

    namespace = {
        "__builtins__": SAFE_BUILTINS, "env": dict(env), "sleep": sleep, "progress": progress,
    }
    try:
        value = eval(payload, namespace)  # noqa: S307 -- the payload is trusted, see the README
    except Exception as error:  # noqa: BLE001 -- every failure of the payload is its result
        return "failed", {"error": f"{type(error).__name__}: {error}"}
    output = value if isinstance(value, str) else "" if value is None else str(value)
    return "completed", {"success": output}


def capped(status: str, result: dict) -> tuple[str, dict]:
    """Replaces an output over 1 MiB with an error, as the Rust SDK does."""
    size = len(next(iter(result.values())).encode())
    if size <= MAX_OUTPUT_BYTES:
        return status, result
    return "failed", {"error": f"job output is {size} bytes, more than the limit of {MAX_OUTPUT_BYTES}"}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def redact_url(url: str) -> str:
    """The URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at:
        return url
    return f"{scheme}://{userinfo.partition(':')[0]}:***@{host}"


class Runner:
    """Claims jobs from one queue as one worker, runs them in threads, reports them."""

    def __init__(
        self, name: str, redis_url: str, namespace: str, concurrency: int, access: str = "user"
    ) -> None:
        self.name = name
        self.access = access
        self.worker = f"{name}-{uuid.uuid4().hex}"
        self.keys = Keys(namespace)
        self.redis = redis.Redis.from_url(
            redis_url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5
        )
        # BLMOVE blocks its connection, so the waiting claim has a client of its own.
        self.blocking = redis.Redis.from_url(
            redis_url,
            decode_responses=True,
            socket_timeout=CLAIM_WAIT_SECS + 5,
            socket_connect_timeout=5,
        )
        self.claim_script = self.load_script("claim")
        self.heartbeat_script = self.load_script("heartbeat")
        self.finish_script = self.load_script("finish")
        self.progress_script = self.load_script("progress")
        # One slot per running job: at most `concurrency` run at once.
        self.slots = threading.BoundedSemaphore(concurrency)
        # The running jobs by (id, attempt), for the heartbeat; the condition wakes the drain.
        self.running: dict[tuple[str, int], RunningJob] = {}
        self.changed = threading.Condition()
        # Set by SIGTERM/SIGINT: claim nothing more.
        self.stopping = threading.Event()
        # Set once every job is reported: the heartbeat goes on through the drain.
        self.stop_heartbeat = threading.Event()

    def load_script(self, name: str) -> Any:
        # Every script runs with the shared helpers of lib.lua in front of it, as the store
        # loads them.
        helpers = (LUA_DIR / "lib.lua").read_text()
        return self.redis.register_script(helpers + (LUA_DIR / f"{name}.lua").read_text())

    def connect(self) -> bool:
        """Waits for Redis to answer, with backoff, for up to 30 s or until a signal."""
        deadline = time.monotonic() + CONNECT_PATIENCE_SECS
        backoff = Backoff()
        while not self.stopping.is_set():
            try:
                self.redis.ping()
                return True
            except redis.RedisError as error:
                delay = backoff.delay()
                if time.monotonic() + delay >= deadline:
                    log.error("cannot reach redis (gave up after %ss): %s", CONNECT_PATIENCE_SECS, error)
                    return False
                log.warning("cannot reach redis; retrying in %.2fs: %s", delay, error)
                self.stopping.wait(delay)
        return False

    def serve(self) -> None:
        """Runs until `stopping` is set, then drains: running jobs end and are reported."""
        heartbeat = threading.Thread(target=self.heartbeat_loop, name="heartbeat")
        heartbeat.start()
        log.info("runner started: queue %s, worker %s", self.name, self.worker)
        self.claim_loop()
        self.drain()
        self.stop_heartbeat.set()
        heartbeat.join()
        log.info("runner stopped")

    # Claiming.

    def claim_loop(self) -> None:
        backoff = Backoff()
        while not self.stopping.is_set():
            free = self.take_slots()
            if free == 0:
                return
            try:
                jobs = self.claim(free)
            except redis.RedisError as error:
                self.release(free)
                delay = backoff.delay()
                log.warning("claim failed; retrying in %.2fs: %s", delay, error)
                self.stopping.wait(delay)
                continue
            backoff = Backoff()
            for job in jobs:
                self.start_job(job)
            self.release(free - len(jobs))

    def take_slots(self) -> int:
        """Waits for one free slot, then takes every other free one: 0 once stopping."""
        while not self.slots.acquire(timeout=0.1):
            if self.stopping.is_set():
                return 0
        taken = 1
        while taken < MAX_BATCH and self.slots.acquire(blocking=False):
            taken += 1
        return taken

    def release(self, count: int) -> None:
        for _ in range(count):
            self.slots.release()

    def claim(self, most: int) -> list[RunningJob]:
        """Claims up to `most` jobs, waiting up to 1 s for one to arrive.

        Never abandoned half-way, even at shutdown: an id BLMOVE moved into the in-flight list
        must be marked, or nobody would run it. A signal only sets `stopping`.
        """
        jobs = self.run_claim("", most)
        if jobs:
            return jobs
        deadline = time.monotonic() + CLAIM_WAIT_SECS
        while (remaining := deadline - time.monotonic()) > 0:
            moved = self.blocking.blmove(
                self.keys.queue(self.name),
                self.keys.inflight(self.worker),
                max(remaining, 0.01),
                "RIGHT",
                "LEFT",
            )
            if moved is None:
                return []
            jobs = self.run_claim(moved, most)
            if jobs:
                return jobs
        return []

    def run_claim(self, moved: str, most: int) -> list[RunningJob]:
        k = self.keys
        claimed = self.claim_script(
            keys=[k.queue(self.name), k.inflight(self.worker), k.workers, k.seen, k.attempts],
            args=[
                k.job_prefix, self.worker, LEASE_MS, now(), moved, most, self.name,
                TIMEOUT_GRACE_MS,
            ],
        )
        jobs = []
        for attempt, text, job_id in claimed:
            try:
                jobs.append(RunningJob(attempt, json.loads(text)))
            except (ValueError, KeyError, TypeError) as error:
                # Marked running but unreadable: failed under its own attempt, so the rest of
                # the batch runs and nothing sits marked running with nobody on it.
                log.error("claimed job %s cannot be read: %s", job_id, error)
                self.fail_unreadable(job_id, attempt, f"the job cannot be read: {error}")
        return jobs

    def fail_unreadable(self, job_id: str, attempt: int, message: str) -> None:
        """Reports a claimed job it cannot read as failed; should the report be lost, the
        heartbeat takes the run back a lease later, as it does any run it does not list."""
        k = self.keys
        try:
            self.finish_script(
                keys=[k.job(job_id), k.inflight(self.worker)],
                args=[
                    job_id, self.worker, "failed", json.dumps({"error": message}), now(),
                    k.events, attempt,
                ],
            )
        except redis.RedisError as error:
            log.warning("could not fail unreadable job %s: %s", job_id, error)

    # Running.

    def start_job(self, job: RunningJob) -> None:
        # Registered before its thread starts, so the next heartbeat already covers it.
        with self.changed:
            self.running[(job.id, job.attempt)] = job
        threading.Thread(target=self.run_job, args=(job,), name=f"job-{job.id}").start()

    def run_job(self, job: RunningJob) -> None:
        try:
            started = time.monotonic()
            refusal = self.refusal(job)
            if refusal:
                log.warning("job %s refused: %s", job.id, refusal)
                status, result = "failed", {"error": refusal}
            else:
                status, result = capped(*self.execute(job))
            log.info("job %s %s in %.0f ms", job.id, status, (time.monotonic() - started) * 1000)
            self.report(job, status, result)
        finally:
            with self.changed:
                del self.running[(job.id, job.attempt)]
                self.changed.notify_all()
            self.slots.release()

    def refusal(self, job: RunningJob) -> str | None:
        """Why this runner must not execute `job`, if it must not."""
        if job.executor != EXECUTOR:
            return f"runner {self.name} runs executor {EXECUTOR}, not {job.executor}"
        if LEVELS.index(job.level) < LEVELS.index(self.access):
            return (
                f"runner {self.name} runs jobs of {self.access} secrets only; "
                f"this job was submitted with a {job.level} secret"
            )
        return None

    def execute(self, job: RunningJob) -> tuple[str, dict]:
        """Evaluates the payload in a thread of its own, under the job's timeout.

        An interrupted evaluation is abandoned: `sleep` ends at once, other code runs on in
        its daemon thread until it returns or the process exits; its answer no longer counts.
        """

        def evaluation() -> None:
            outcome = evaluate(
                job.payload, job.env, job.cancelled, lambda p, m: self.progress(job, p, m)
            )
            # Once interrupted, the interruption decides; this answer may be its echo.
            if not job.cancelled.is_set():
                job.events.put(("done", *outcome))

        threading.Thread(target=evaluation, name=f"eval-{job.id}", daemon=True).start()
        try:
            event = job.events.get(timeout=job.timeout)
        except queue.Empty:
            event = ("timeout",)
        # An answer that is ready counts, even if an interruption came at the same moment.
        while event[0] != "done" and not job.events.empty():
            if (later := job.events.get_nowait())[0] == "done":
                event = later
        job.cancelled.set()
        if event[0] == "done":
            return event[1], event[2]
        if event[0] == "stopped":
            return "stopped", {"error": "job stopped"}
        if event[0] == "shutdown":
            return "failed", {"error": SHUTDOWN_MESSAGE}
        return "failed", {"error": f"job timed out after {job.timeout}s"}

    def progress(self, job: RunningJob, percent: int, message: str) -> None:
        """Records the job's progress with progress.lua, once, in the payload's own thread.

        Progress is advisory: when Redis is away, or this run no longer holds the job, the
        value is dropped. Unlike the Rust SDK this does not coalesce rapid reports: each call
        is one round trip.
        """
        encoded = message.encode()[:MAX_PROGRESS_MESSAGE_BYTES].decode(errors="ignore")
        try:
            self.progress_script(
                keys=[self.keys.job(job.id)],
                args=[
                    self.worker, job.attempt,
                    json.dumps({"percent": percent, "message": encoded}),
                ],
            )
        except redis.RedisError as error:
            log.debug("progress of job %s not recorded: %s", job.id, error)

    def report(self, job: RunningJob, status: str, result: dict) -> None:
        """Reports with finish.lua, retrying while Redis is unreachable; a report for a run
        this worker no longer holds changes nothing, so retrying is always safe."""
        k = self.keys
        job_id = job.id
        backoff = Backoff()
        failing = False
        while True:
            try:
                done = self.finish_script(
                    keys=[k.job(job_id), k.inflight(self.worker)],
                    args=[
                        job_id, self.worker, status, json.dumps(result), now(), k.events,
                        job.attempt,
                    ],
                )
            except (redis.ConnectionError, redis.TimeoutError) as error:
                if not failing:
                    log.warning("reporting job %s failed; retrying: %s", job_id, error)
                    failing = True
                time.sleep(backoff.delay())
                continue
            except redis.RedisError as error:
                log.error("could not report job %s: %s", job_id, error)
                return
            if done != 1:
                log.debug("job %s: this run was ended elsewhere; outcome dropped", job_id)
            return

    # Heartbeat and shutdown.

    def heartbeat_loop(self) -> None:
        """Renews the lease every 500 ms and interrupts the jobs the store says to give up."""
        k = self.keys
        failing = False
        while True:
            with self.changed:
                runs = [part for run in self.running for part in run]
            try:
                flat = self.heartbeat_script(
                    keys=[k.workers, k.seen, k.inflight(self.worker)],
                    args=[self.worker, LEASE_MS, k.job_prefix, k.queue_prefix, now(), *runs],
                )
                give_up = [(flat[i], int(flat[i + 1])) for i in range(0, len(flat), 2)]
                if failing:
                    log.info("heartbeat works again")
                    failing = False
            except redis.RedisError as error:
                # Logged once per outage, not once per beat.
                if not failing:
                    log.warning("heartbeat failed; retrying: %s", error)
                    failing = True
                give_up = []
            with self.changed:
                for run in give_up:
                    if job := self.running.get(run):
                        log.info("giving job %s up: stop requested, or ended elsewhere", run[0])
                        job.interrupt("stopped")
            if self.stop_heartbeat.wait(HEARTBEAT_SECS):
                return

    def drain(self) -> None:
        """Waits up to 10 s for running jobs, then interrupts the rest and waits for their
        reports."""
        with self.changed:
            if not self.running:
                return
            log.info("shutting down; waiting for %d running jobs", len(self.running))
            if self.changed.wait_for(lambda: not self.running, timeout=SHUTDOWN_GRACE_SECS):
                return
            log.warning("jobs outlasted the shutdown grace; interrupting them")
            for job in self.running.values():
                job.interrupt("shutdown")
            self.changed.wait_for(lambda: not self.running)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="A Hero Supervisor runner in Python: claims jobs from its queue and "
        "evaluates each payload as a Python expression (trusted code)."
    )
    parser.add_argument("--id", help="the actor id the supervisor knows this process by; for logs")
    parser.add_argument("--name", required=True, help="the runner name: the queue to claim from")
    parser.add_argument("--db-path", help="accepted for the supervisor's command line; unused")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("HERO_REDIS_URL", "redis://127.0.0.1:6379"),
        help="the Redis holding the jobs (default: $HERO_REDIS_URL, else redis://127.0.0.1:6379)",
    )
    parser.add_argument("--namespace", default="hero", help="the key prefix in Redis (default: hero)")
    parser.add_argument("--concurrency", type=positive, default=1, help="most jobs at once (default: 1)")
    parser.add_argument(
        "--access",
        choices=LEVELS,
        default=os.environ.get("HERO_RUNNER_ACCESS", "user"),
        help="the least secret level whose jobs run here; at admin, users' jobs are refused "
        "(default: $HERO_RUNNER_ACCESS, else user)",
    )
    return parser.parse_args(argv)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    log.info(
        "runner starting: id %s, name %s, redis %s, namespace %s, access %s",
        args.id or "-", args.name, redact_url(args.redis_url), args.namespace, args.access,
    )
    try:
        runner = Runner(args.name, args.redis_url, args.namespace, args.concurrency, args.access)
    except (OSError, ValueError) as error:
        log.error("cannot start: %s", error)
        return 1

    def on_signal(signum: int, _frame: object) -> None:
        log.info("%s received; shutting down", signal.Signals(signum).name)
        runner.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if not runner.connect():
        return 0 if runner.stopping.is_set() else 1
    runner.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
