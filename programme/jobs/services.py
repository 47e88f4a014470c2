"""Creating, running and following jobs.

A job function is a plain service: `fn(session, params, progress) -> dict` where
`progress(percent, message)` records how far it got. It is named in `JOB_KINDS` by its
import path, so this package depends on nothing in the domains that use it.

Runners (`JOB_RUNNER`, else `rq` when REDIS_URL is set, else `thread`):
- `thread`: a daemon thread in the app process (the embedded default);
- `rq`: queued on Redis, run by `flask --app app worker` on any host;
- `inline`: run before the request returns (the default when TESTING).

Jobs cannot get stuck: a job that cannot be queued (Redis unreachable) is marked failed at
once ("could not start"); a running job records a heartbeat (every progress call, and a timer
every JOB_HEARTBEAT_INTERVAL seconds), and one without a heartbeat for JOB_HEARTBEAT_TIMEOUT
seconds (its worker was killed) is marked failed ("interrupted"). A queued job whose entry
on the queue is gone (Redis restarted or emptied, a worker that died before taking it) is
marked failed ("lost") once it has waited JOB_HEARTBEAT_TIMEOUT seconds. Those checks run
when a worker starts, in the RQ worker's maintenance loop, and whenever a page reads a job.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from programme.audit import acting_as
from programme.database import sqlite_begin, utcnow
from programme.extensions import db
from programme.jobs.models import Job
from programme.jobs.schedule import QUEUE
from programme.observability import log_job

log = logging.getLogger(__name__)

JOB_KINDS: dict[str, str] = {
    "kpi_check": "programme.kpis.services:check_upload_job",
    "kpi_import": "programme.kpis.services:import_upload_job",
}


# Job.error codes that the pages translate (any other text is shown as it is).
UNEXPECTED = "unexpected"
INTERRUPTED = "interrupted"
NOT_STARTED = "not_started"
LOST = "lost"


class JobError(Exception):
    """An expected failure: its message is shown to the person who started the job."""


Progress = Callable[[int, str | None], None]


def create_job(session: Session, kind: str, params: dict[str, Any], user_id: int | None) -> Job:
    if kind not in JOB_KINDS:
        raise KeyError(kind)
    job = Job(kind=kind, status="queued", progress=0, params=params, user_id=user_id)
    session.add(job)
    session.flush()
    return job


def runner(app: Flask) -> str:
    chosen = app.config.get("JOB_RUNNER") or os.environ.get("JOB_RUNNER")
    if chosen:
        return chosen
    if app.config.get("TESTING"):
        return "inline"  # tests: the job has run when the request returns
    return "rq" if app.config.get("REDIS_URL") else "thread"


def redis_connection(url: str):
    """A Redis client that fails fast when the server is unreachable (never hangs a request)."""
    from redis import Redis

    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def start(job_id: int) -> None:
    """Run a committed job with the configured runner. When it cannot be started (Redis
    unreachable, no thread left) the job is marked failed and the caller carries on."""
    app = current_app._get_current_object()
    how = runner(app)
    # End the caller's read since its commit (nothing is pending: the job is committed):
    # on SQLite a POST's transaction holds the write lock, which the job's progress
    # updates, or marking it failed below, would wait for.
    db.session.rollback()
    if how == "inline":
        run_job(app, job_id)
        return
    if how == "rq":
        entry = _queue_entry(job_id, db.session.get(Job, job_id).created_at)
        db.session.rollback()
    try:
        if how == "rq":
            from rq import Queue

            queue = Queue(QUEUE, connection=redis_connection(app.config["REDIS_URL"]))
            queue.enqueue(
                "programme.jobs.services.run_job_in_worker",
                job_id,
                job_id=entry,
                job_timeout=3600,
            )
        else:
            thread = threading.Thread(
                target=run_job, args=(app, job_id), name=f"job-{job_id}", daemon=True
            )
            thread.start()
    except Exception as error:  # redis ConnectionError/TimeoutError, RuntimeError ...
        log.warning("job %s could not be started (%s): %s", job_id, how, error)
        _set(job_id, status="failed", error=NOT_STARTED, finished_at=utcnow(), message=None)


def _queue_entry(job_id: int, created_at: datetime) -> str:
    """The job's id on the RQ queue: its id and creation time, so that two databases
    sharing one Redis (or a database recreated) never take each other's entries."""
    return f"programme-job-{job_id}-{_aware(created_at).astimezone(UTC):%Y%m%d%H%M%S%f}"


def run_job_in_worker(job_id: int) -> None:
    """Entry point for RQ workers (`flask --app app worker` runs them in an app context)."""
    run_job(current_app._get_current_object(), job_id)


def _resolve(kind: str) -> Callable:
    module, name = JOB_KINDS[kind].split(":")
    return getattr(importlib.import_module(module), name)


def _set(job_id: int, **values) -> None:
    """Update the job row on its own connection, so the page sees it at once."""
    with db.engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(**values))


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back: they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _stale_cutoff() -> datetime:
    return utcnow() - timedelta(seconds=current_app.config.get("JOB_HEARTBEAT_TIMEOUT", 60))


def recover_stale(job_ids: list[int] | None = None, session: Session | None = None) -> int:
    """Mark failed ("interrupted") the running jobs without a heartbeat for
    JOB_HEARTBEAT_TIMEOUT seconds: their worker died. The work of a job is one transaction,
    so nothing of it was written. Returns how many were marked."""
    cutoff = _stale_cutoff()
    statement = update(Job).where(
        Job.status == "running",
        or_(
            Job.heartbeat_at < cutoff,
            and_(
                Job.heartbeat_at.is_(None), or_(Job.started_at.is_(None), Job.started_at < cutoff)
            ),
        ),
    )
    if job_ids is not None:
        statement = statement.where(Job.id.in_(job_ids))
    statement = statement.values(
        status="failed", error=INTERRUPTED, finished_at=utcnow(), message=None
    )
    if session is not None:
        # In a request: its own transaction (on SQLite a POST already holds the write lock,
        # which a second connection would wait for in vain).
        count = session.execute(
            statement, execution_options={"synchronize_session": False}
        ).rowcount
        session.commit()  # the jobs read are expired: refresh() reads them again
    else:
        with db.engine.begin() as conn:
            count = conn.execute(statement).rowcount
    if count:
        log.warning("%s interrupted job(s) marked failed", count)
    return count


def _lost_on_queue(app: Flask, waiting: list[tuple[int, datetime]]) -> list[int]:
    """Of these queued jobs (id, created_at), those that no worker will ever run: with the
    RQ runner, their queue entry is gone or ended without the job being taken; with the
    thread runner, their thread would have taken them at once (its process died). Empty
    when the queue cannot be asked (Redis unreachable: they may still be there)."""
    how = runner(app)
    if how == "thread":
        return [job_id for job_id, _created in waiting]
    if how != "rq" or not app.config.get("REDIS_URL"):
        return []
    from rq.exceptions import NoSuchJobError
    from rq.job import Job as QueueEntry
    from rq.job import JobStatus

    alive = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
    connection = redis_connection(app.config["REDIS_URL"])
    lost = []
    try:
        for job_id, created in waiting:
            try:
                entry = QueueEntry.fetch(_queue_entry(job_id, created), connection=connection)
                status = entry.get_status(refresh=False)
            except NoSuchJobError:
                status = None
            if status not in alive:
                lost.append(job_id)
    except Exception as error:  # redis ConnectionError/TimeoutError: ask again later
        log.warning("lost jobs not checked, the queue is unreachable: %s", error)
        return []
    return lost


def recover_lost(job_ids: list[int] | None = None, session: Session | None = None) -> int:
    """Mark failed ("lost") the jobs queued for more than JOB_HEARTBEAT_TIMEOUT seconds that
    no worker will run (see `_lost_on_queue`). Nothing of them ran, so nothing was written;
    the person can start them again. Returns how many were marked."""
    query = select(Job.id, Job.created_at).where(
        Job.status == "queued", Job.created_at < _stale_cutoff()
    )
    if job_ids is not None:
        query = query.where(Job.id.in_(job_ids))
    if session is not None:
        waiting = session.execute(query).all()
    else:
        with db.engine.connect() as conn:
            waiting = conn.execute(query).all()
    if not waiting:
        return 0
    lost = _lost_on_queue(current_app._get_current_object(), [tuple(w) for w in waiting])
    if not lost:
        return 0
    statement = (
        update(Job)
        .where(Job.id.in_(lost), Job.status == "queued")
        .values(status="failed", error=LOST, finished_at=utcnow(), message=None)
    )
    if session is not None:
        count = session.execute(
            statement, execution_options={"synchronize_session": False}
        ).rowcount
        session.commit()
    else:
        with db.engine.begin() as conn:
            count = conn.execute(statement).rowcount
    if count:
        log.warning("%s job(s) lost from the queue marked failed", count)
    return count


def is_lost_candidate(job: Job) -> bool:
    """Queued for longer than a worker takes to pick a job up: worth asking the queue."""
    created = _aware(job.created_at)
    return job.status == "queued" and created is not None and created < _stale_cutoff()


def is_stale(job: Job) -> bool:
    if job.status != "running":
        return False
    last = _aware(job.heartbeat_at or job.started_at)
    return last is None or last < _stale_cutoff()


def refresh(session: Session, *jobs_read: Job | None) -> None:
    """Before showing jobs: mark failed those whose worker died (writes only then)."""
    stale = [job.id for job in jobs_read if job is not None and is_stale(job)]
    waiting = [job.id for job in jobs_read if job is not None and is_lost_candidate(job)]
    changed = bool(stale) and recover_stale(stale, session)
    changed = (bool(waiting) and recover_lost(waiting, session)) or changed
    if changed:
        for job in jobs_read:
            if job is not None:
                session.refresh(job)


def error_text(job: Job) -> str:
    """What went wrong, in the reader's language."""
    if job.error == UNEXPECTED:
        return _("Something went wrong on our side. The error has been logged.")
    if job.error == INTERRUPTED:
        return _("Interrupted — nothing was written (the worker stopped).")
    if job.error == NOT_STARTED:
        return _("Could not start: the job queue is unreachable. Try again in a moment.")
    if job.error == LOST:
        return _(
            "Lost from the job queue (it was restarted or emptied before a worker took the "
            "job) — nothing was written. Start it again."
        )
    return job.error or ""


def _claim(job_id: int) -> bool:
    """queued -> running, by one worker only."""
    now = utcnow()
    with db.engine.begin() as conn:
        claimed = conn.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued")
            .values(status="running", started_at=now, heartbeat_at=now, progress=0)
        ).rowcount
    return claimed == 1


def _heartbeat(engine, job_id: int, interval: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        try:
            with engine.begin() as conn:
                conn.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "running")
                    .values(heartbeat_at=utcnow())
                )
        except Exception as error:  # a locked SQLite file, a restarting server: try again
            log.warning("job %s: heartbeat not recorded: %s", job_id, error)


def run_job(app: Flask, job_id: int) -> None:
    # DEFERRED on SQLite even when run inside a POST (inline runner): the progress updates
    # are written on a connection of their own while the job's transaction is open.
    with app.app_context(), sqlite_begin("DEFERRED"):
        recover_stale()  # a worker starting: jobs left running by a dead one are failed
        recover_lost()
        session = db.session
        job = session.get(Job, job_id)
        if job is None or job.status != "queued":
            return
        kind, params, user_id = job.kind, dict(job.params or {}), job.user_id
        actor = "job"
        if user_id is not None:
            from programme.auth.models import User

            user = session.get(User, user_id)
            actor = f"job:{user.email}" if user else "job"
        session.rollback()
        if not _claim(job_id):
            return
        clock, status = time.perf_counter(), "failed"
        stop = threading.Event()
        interval = app.config.get("JOB_HEARTBEAT_INTERVAL", 10)
        threading.Thread(
            target=_heartbeat,
            args=(db.engine, job_id, interval, stop),
            name=f"job-{job_id}-heartbeat",
            daemon=True,
        ).start()

        def progress(percent: int, message: str | None = None) -> None:
            _set(
                job_id,
                progress=max(0, min(100, int(percent))),
                message=message,
                heartbeat_at=utcnow(),
            )

        try:
            with acting_as(actor, user_id):
                result = _resolve(kind)(session, params, progress)
        except JobError as error:
            session.rollback()
            _set(job_id, status="failed", error=str(error), finished_at=utcnow())
        except Exception:  # a bug: logged, and the person sees a generic message
            session.rollback()
            log.exception("job %s (%s) failed", job_id, kind)
            _set(job_id, status="failed", error=UNEXPECTED, finished_at=utcnow())
        else:
            status = "done"
            _set(
                job_id,
                status="done",
                progress=100,
                result=result,
                finished_at=utcnow(),
                message=None,
            )
        finally:
            stop.set()
            session.remove()
            log_job(job_id, kind, status, clock)
            release_memory()


def release_memory() -> None:
    """After a job: collect, and hand the freed heap back to the system (glibc keeps it
    otherwise, and a worker would stay at its peak after a large import)."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass
