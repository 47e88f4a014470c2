"""Creating, running and following jobs.

A job function is a plain service: `fn(session, params, progress) -> dict` where
`progress(percent, message)` records how far it got. It is named in `JOB_KINDS` by its
import path, so this package depends on nothing in the domains that use it.

Runners (`JOB_RUNNER`, else `rq` when REDIS_URL is set, else `thread`):
- `thread`: a daemon thread in the app process (the embedded default);
- `rq`: queued on Redis, run by `flask --app app worker` on any host;
- `inline`: run before the request returns (the default when TESTING).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from sqlalchemy import update
from sqlalchemy.orm import Session

from programme.audit import acting_as
from programme.database import sqlite_begin, utcnow
from programme.extensions import db
from programme.jobs.models import Job
from programme.observability import log_job

log = logging.getLogger(__name__)

JOB_KINDS: dict[str, str] = {
    "kpi_check": "programme.kpis.services:check_upload_job",
    "kpi_import": "programme.kpis.services:import_upload_job",
}


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


def start(job_id: int) -> None:
    """Run a committed job with the configured runner."""
    app = current_app._get_current_object()
    how = runner(app)
    if how == "inline":
        # End the caller's read since its commit (nothing is pending: the job is
        # committed): on SQLite a POST's transaction holds the write lock, which the job's
        # progress updates would wait for.
        db.session.rollback()
        run_job(app, job_id)
    elif how == "rq":
        from redis import Redis
        from rq import Queue

        queue = Queue("programme", connection=Redis.from_url(app.config["REDIS_URL"]))
        queue.enqueue("programme.jobs.services.run_job_in_worker", job_id, job_timeout=3600)
    else:
        thread = threading.Thread(
            target=run_job, args=(app, job_id), name=f"job-{job_id}", daemon=True
        )
        thread.start()


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


def run_job(app: Flask, job_id: int) -> None:
    # DEFERRED on SQLite even when run inside a POST (inline runner): the progress updates
    # are written on a connection of their own while the job's transaction is open.
    with app.app_context(), sqlite_begin("DEFERRED"):
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
        _set(job_id, status="running", started_at=utcnow(), progress=0)
        clock, status = time.perf_counter(), "failed"

        def progress(percent: int, message: str | None = None) -> None:
            _set(job_id, progress=max(0, min(100, int(percent))), message=message)

        try:
            with acting_as(actor, user_id):
                result = _resolve(kind)(session, params, progress)
        except JobError as error:
            session.rollback()
            _set(job_id, status="failed", error=str(error), finished_at=utcnow())
        except Exception:  # a bug: logged, and the person sees a generic message
            session.rollback()
            log.exception("job %s (%s) failed", job_id, kind)
            _set(
                job_id,
                status="failed",
                error="unexpected",
                finished_at=utcnow(),
            )
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
            session.remove()
            log_job(job_id, kind, status, clock)
