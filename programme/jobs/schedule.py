"""The job worker's schedule: the periodic commands, run by RQ's cron scheduler (`rq.cron`).

Every `flask --app app worker` (when REDIS_URL is set) starts a `WorkerCronScheduler` in a
thread beside the worker. When a task is due the scheduler puts a job on the `programme`
queue, and whichever worker is free runs it: `run_scheduled_command(name)` invokes the
`flask <name>` command in the worker's app context, so a scheduled run does exactly what
the command does by hand.

Several workers each run a scheduler: every due time is enqueued once across all of them,
through a Redis key per task and due time set with NX (`programme:schedule:<task>:<time>`).
The cron fields are read in the server's local time (run the workers in UTC). A due time
missed while no worker runs is not caught up; the next one comes as usual (each command
sends or deletes what is due then, so nothing is lost).

Without Redis (the thread runner) nothing runs by itself: schedule the same commands with
cron (docs/deploy.md).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import click
from flask import current_app
from rq.cron import CronJob, CronScheduler
from rq.utils import now

log = logging.getLogger(__name__)

QUEUE = "programme"
# Recomputations of cached figures after writes: a worker takes the jobs of QUEUE (imports,
# exports, scheduled commands) first, so a stream of writes never holds an import back.
REFRESH_QUEUE = "programme-refresh"


@dataclass(frozen=True)
class Task:
    command: str  # a `flask` command that takes no argument
    cron: str  # minute hour day month weekday, in the worker's local time (UTC)
    timeout: int  # seconds before RQ stops the run


SCHEDULE: tuple[Task, ...] = (
    # E-mail digests due now (each person's hour in their time zone; sent at most once per
    # period: a run that comes twice, or late, sends nothing twice).
    Task("send-digests", "*/15 * * * *", 14 * 60),
    # Files of imports ended UPLOAD_RETENTION_DAYS ago.
    Task("purge-uploads", "10 3 * * *", 3600),
    # Customers' contact references past FEEDBACK_CONTACT_RETENTION_DAYS.
    Task("purge-contact-references", "20 3 * * *", 3600),
    # This month's headline snapshot: taken on the first run of the month, kept after that.
    Task("take-snapshot", "30 3 * * *", 3600),
)

CLAIM_SECONDS = 2 * 24 * 3600  # a due time's key outlives any run of the task


def claim_key(task: str, due) -> str:
    return f"programme:schedule:{task}:{due.strftime('%Y-%m-%dT%H:%M')}"


def run_scheduled_command(name: str) -> None:
    """The RQ job of a scheduled task: run `flask <name>` in the worker's app context."""
    app = current_app._get_current_object()
    command = app.cli.get_command(click.Context(app.cli), name)
    if command is None:
        raise LookupError(f"no flask command {name!r}")
    from programme.extensions import db

    log.info("scheduled task %s: starting", name)
    try:
        command.main(args=[], prog_name=f"flask {name}", standalone_mode=False)
    finally:
        db.session.remove()
    log.info("scheduled task %s: done", name)


class WorkerCronScheduler(CronScheduler):
    """RQ's CronScheduler, driven from a thread of the worker, enqueueing each due time
    once across every worker (see the module docstring)."""

    def __init__(self, connection, tasks: Iterable[Task] = SCHEDULE, name: str = ""):
        super().__init__(connection=connection, name=name)
        for task in tasks:
            self.register(
                run_scheduled_command,
                QUEUE,
                args=(task.command,),
                cron=task.cron,
                job_timeout=task.timeout,
                name=task.command,
            )

    def enqueue_jobs(self) -> list[CronJob]:
        moment = now()
        enqueued: list[CronJob] = []
        for job in self._cron_jobs:
            if not job.should_run():
                continue
            due = job.next_enqueue_time
            if self.connection.set(claim_key(job.name, due), self.name, nx=True, ex=CLAIM_SECONDS):
                job.enqueue(self.connection)
                enqueued.append(job)
            else:
                log.debug("scheduled task %s at %s: enqueued by another worker", job.name, due)
            job.set_enqueue_time(moment)
        return enqueued

    def tick(self) -> float:
        """Enqueue what is due, record that this scheduler is alive; seconds to wait."""
        if self.enqueue_jobs():
            self.save()
        self.heartbeat()
        return max(1.0, self.calculate_sleep_interval())

    def run(self, stop: threading.Event) -> None:
        """The thread's loop until `stop` is set; Redis errors are logged and retried."""
        try:
            self.register_birth()
        except Exception:
            log.exception("scheduler %s: could not register", self.name)
        while not stop.is_set():
            wait = 30.0
            try:
                wait = self.tick()
            except Exception:  # Redis restarting: try again shortly
                log.exception("scheduler %s: tick failed", self.name)
            stop.wait(wait)
        with contextlib.suppress(Exception):
            self.register_death()


def start_scheduler(connection) -> tuple[WorkerCronScheduler, threading.Event]:
    """Start the schedule in a daemon thread; set the returned event to stop it."""
    scheduler = WorkerCronScheduler(connection)
    stop = threading.Event()
    threading.Thread(
        target=scheduler.run, args=(stop,), name="programme-schedule", daemon=True
    ).start()
    log.info(
        "scheduler %s: %s",
        scheduler.name,
        ", ".join(f"{task.command} ({task.cron})" for task in SCHEDULE),
    )
    return scheduler, stop
